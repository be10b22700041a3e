#!/usr/bin/env python3
"""A second, rule-agnostic yardstick: keys written the way providers' docs show them.

    python3 scripts/docs_corpus.py --out DIR            # write the corpus and labels.jsonl
    python3 scripts/docs_corpus.py --score BIN [--out DIR] [--show]
                                                        # write, scan with BIN, print recall/FPs

Each template below is a snippet in the shape a provider's documentation or SDK README shows
(an `export` line, a client constructor, a config file, a curl header, a compose file...), with
`{K}` where the key goes. Keys are fake, built from the documented format (prefix, alphabet,
length, checksum), never copied from a rule's examples. Negative templates are what the same
docs show instead of a key: placeholders, environment references, CI secret expressions, and
harmless random-looking values.

Scoring does not look at rule ids: a positive counts as found when any finding starts on its
line (multi-line: within its span) and its secret contains or is contained in the planted key;
a negative counts as a false positive when any finding starts on its lines. This is the way an
outside corpus judges a scanner. It is still written by this project, so it measures the
shapes we thought of; docs/accuracy.md says what it can and cannot tell.

Python 3 standard library only; deterministic (seeded).
"""

import argparse
import base64
import collections
import hashlib
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import zlib

SEED = 0x646F6373  # "docs"
ALNUM = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
B64URL = ALNUM + "_-"
B64 = ALNUM + "+/"
UPPER_ALNUM = string.ascii_uppercase + string.digits
B32 = string.ascii_uppercase + "234567"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

R = random.Random(SEED)


def run(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def crc_token(prefix):
    body = run(ALNUM, 30)
    c = zlib.crc32(body.encode()) & 0xFFFFFFFF
    s = ""
    while c:
        c, d = divmod(c, 62)
        s = ALNUM[d] + s
    return prefix + body + s.rjust(6, "0")


def jwt():
    def b(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    sub = run(string.digits, 10)
    return (b({"alg": "HS256", "typ": "JWT"}) + "." + b({"sub": sub, "iat": 1700000000 + R.randrange(10**7)})
            + "." + run(B64URL, 43))


def pem():
    # A DER SEQUENCE header as in every PKCS#1 key (version 0, then the modulus), random after.
    der = bytes([0x30, 0x82, 0x03, 0x84, 0x02, 0x01, 0x00, 0x02, 0x81, 0x81, 0x00])
    body = base64.b64encode(der + bytes(R.randrange(256) for _ in range(889))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"


def password():
    return run(ALNUM, 6) + R.choice("!#%&*+") + run(ALNUM, 7)


# Key formats (documented shapes; see shared/key-formats.md and the providers' docs).
FORMATS = {
    "openai": lambda: "sk-proj-" + run(B64URL, 74) + "T3BlbkFJ" + run(B64URL, 74),
    "anthropic": lambda: "sk-ant-api03-" + run(B64URL, 93) + "AA",
    "gemini": lambda: "AIza" + run(B64URL, 35),
    "groq": lambda: "gsk_" + run(ALNUM, 52),
    "xai": lambda: "xai-" + run(ALNUM, 80),
    "huggingface": lambda: "hf_" + run(string.ascii_letters, 34),
    "replicate": lambda: "r8_" + run(ALNUM, 37),
    "openrouter": lambda: "sk-or-v1-" + run(HEX, 64),
    "perplexity": lambda: "pplx-" + run(ALNUM, 48),
    "deepseek": lambda: "sk-" + run(HEX, 32),
    "mistral": lambda: run(ALNUM, 32),
    "cohere": lambda: run(ALNUM, 40),
    "together": lambda: "tgp_v1_" + run(B64URL, 43),
    "pinecone": lambda: "pcsk_" + run(ALNUM, 5) + "_" + run(ALNUM, 63),
    "langsmith": lambda: "lsv2_pt_" + run(HEX, 32) + "_" + run(HEX, 10),
    "elevenlabs": lambda: "sk_" + run(HEX, 48),
    "github": lambda: crc_token("ghp_"),
    "github_fine": lambda: "github_pat_" + run(ALNUM, 22) + "_" + run(ALNUM, 59),
    "gitlab": lambda: "glpat-" + run(B64URL, 20),
    "slack_bot": lambda: "xoxb-" + run(string.digits, 11) + "-" + run(string.digits, 13) + "-" + run(ALNUM, 24),
    "slack_webhook": lambda: "https://hooks.slack.com/services/T" + run(UPPER_ALNUM, 8) + "/B" + run(UPPER_ALNUM, 10) + "/" + run(ALNUM, 24),
    "stripe": lambda: "sk_live_" + run(ALNUM, 99),
    "aws_id": lambda: "AKIA" + run(B32, 16),
    "aws_secret": lambda: run(B64, 40),
    "twilio_sid": lambda: "AC" + run(HEX, 32),
    "twilio_token": lambda: run(HEX, 32),
    "sendgrid": lambda: "SG." + run(B64URL, 22) + "." + run(B64URL, 43),
    "npm": lambda: crc_token("npm_"),
    "shopify": lambda: "shpat_" + run(HEX, 32),
    "telegram": lambda: run("123456789", 1) + run(string.digits, 9) + ":AA" + run(B64URL, 33),
    "mailgun": lambda: "key-" + run(HEX, 32),
    "datadog": lambda: run(HEX, 32),
    "digitalocean": lambda: "dop_v1_" + run(HEX, 64),
    "linear": lambda: "lin_api_" + run(ALNUM, 40),
    "notion": lambda: "ntn_" + run(string.digits, 11) + run(ALNUM, 35),
    "doppler": lambda: "dp.pt." + run(ALNUM, 43),
    "newrelic": lambda: "NRAK-" + run(UPPER_ALNUM, 27),
    "figma": lambda: "figd_" + run(B64URL, 40),
    "heroku": lambda: "%s-%s-%s-%s-%s" % (run(HEX, 8), run(HEX, 4), run(HEX, 4), run(HEX, 4), run(HEX, 12)),
    "azure_storage": lambda: base64.b64encode(bytes(R.randrange(256) for _ in range(64))).decode(),
    "jwt": jwt,
    "pem": pem,
    "password": password,
    "planetscale": lambda: "pscale_tkn_" + run(B64URL, 43),
    "age": lambda: "AGE-SECRET-KEY-1" + run(BECH32, 58).upper(),
    "sonarqube": lambda: "squ_" + run(HEX, 40),
    "google_oauth_secret": lambda: "GOCSPX-" + run(B64URL, 28),
    "google_access_token": lambda: "ya29." + run(B64URL, 150),
    "twitter_bearer": lambda: "A" * 22 + run(ALNUM, 19) + "%2B" + run(ALNUM, 12) + "%3D" + run(ALNUM, 50),
    "generic32": lambda: run(ALNUM, 32),
    "generic_hex40": lambda: run(HEX, 40),
}

# (provider, format, template). {K} is the key, {K2} a second key of the same format.
POSITIVES = [
    ("OpenAI", "openai", 'export OPENAI_API_KEY="{K}"'),
    ("OpenAI", "openai", 'from openai import OpenAI\nclient = OpenAI(api_key="{K}")'),
    ("OpenAI", "openai", 'curl https://api.openai.com/v1/models \\\n  -H "Authorization: Bearer {K}"'),
    ("Anthropic", "anthropic", 'ANTHROPIC_API_KEY={K}'),
    ("Anthropic", "anthropic", 'client = anthropic.Anthropic(\n    api_key="{K}",\n)'),
    ("Anthropic", "anthropic", 'curl https://api.anthropic.com/v1/messages \\\n     --header "x-api-key: {K}" \\\n     --header "anthropic-version: 2023-06-01"'),
    ("Google", "gemini", 'genai.configure(api_key="{K}")'),
    ("Google", "gemini", 'const genAI = new GoogleGenerativeAI("{K}");'),
    ("Google", "gemini", 'curl "https://generativelanguage.googleapis.com/v1beta/models?key={K}"'),
    ("Groq", "groq", 'client = Groq(api_key="{K}")'),
    ("Groq", "groq", 'GROQ_API_KEY={K}'),
    ("xAI", "xai", 'export XAI_API_KEY={K}'),
    ("Hugging Face", "huggingface", 'huggingface-cli login --token {K}'),
    ("Hugging Face", "huggingface", 'HF_TOKEN={K}'),
    ("Replicate", "replicate", 'export REPLICATE_API_TOKEN={K}'),
    ("OpenRouter", "openrouter", 'client = OpenAI(base_url="https://openrouter.ai/api/v1", api_key="{K}")'),
    ("Perplexity", "perplexity", 'PERPLEXITY_API_KEY="{K}"'),
    ("DeepSeek", "deepseek", 'client = OpenAI(api_key="{K}", base_url="https://api.deepseek.com")'),
    ("DeepSeek", "deepseek", 'DEEPSEEK_API_KEY={K}'),
    ("Mistral", "mistral", 'export MISTRAL_API_KEY={K}'),
    ("Mistral", "mistral", 'client = Mistral(api_key="{K}")'),
    ("Cohere", "cohere", 'co = cohere.ClientV2("{K}")'),
    ("Cohere", "cohere", 'COHERE_API_KEY={K}'),
    ("Together", "together", 'TOGETHER_API_KEY={K}'),
    ("Pinecone", "pinecone", 'pc = Pinecone(api_key="{K}")'),
    ("LangSmith", "langsmith", 'LANGSMITH_API_KEY={K}'),
    ("ElevenLabs", "elevenlabs", 'client = ElevenLabs(api_key="{K}")'),
    ("GitHub", "github", 'git clone https://x-access-token:{K}@github.com/acme/app.git'),
    ("GitHub", "github", 'GITHUB_TOKEN={K}'),
    ("GitHub", "github", 'const octokit = new Octokit({ auth: "{K}" });'),
    ("GitHub", "github_fine", 'gh auth login --with-token <<< "{K}"'),
    ("GitLab", "gitlab", 'curl --header "PRIVATE-TOKEN: {K}" "https://gitlab.example.com/api/v4/projects"'),
    ("GitLab", "gitlab", 'gl = gitlab.Gitlab(url="https://gitlab.com", private_token="{K}")'),
    ("Slack", "slack_bot", 'SLACK_BOT_TOKEN={K}'),
    ("Slack", "slack_bot", 'const web = new WebClient("{K}");'),
    ("Slack", "slack_webhook", 'curl -X POST -H "Content-type: application/json" --data \'{{"text":"Hello"}}\' {K}'),
    ("Stripe", "stripe", 'stripe.api_key = "{K}"'),
    ("Stripe", "stripe", "const stripe = require('stripe')('{K}');"),
    ("Stripe", "stripe", 'curl https://api.stripe.com/v1/charges -u {K}:'),
    ("AWS", "aws_id", '[default]\naws_access_key_id = {K}\naws_secret_access_key = ' + "{K2:aws_secret}"),
    ("AWS", "aws_secret", 'export AWS_ACCESS_KEY_ID=' + "{K2:aws_id}" + '\nexport AWS_SECRET_ACCESS_KEY={K}'),
    ("AWS", "aws_id", 's3 = boto3.client("s3", aws_access_key_id="{K}", aws_secret_access_key="' + "{K2:aws_secret}" + '")'),
    ("Twilio", "twilio_token", 'account_sid = "' + "{K2:twilio_sid}" + '"\nauth_token = "{K}"\nclient = Client(account_sid, auth_token)'),
    ("Twilio", "twilio_token", 'TWILIO_AUTH_TOKEN={K}'),
    ("SendGrid", "sendgrid", 'export SENDGRID_API_KEY=\'{K}\''),
    ("SendGrid", "sendgrid", 'sg = SendGridAPIClient("{K}")'),
    ("npm", "npm", '//registry.npmjs.org/:_authToken={K}'),
    ("npm", "npm", 'NPM_TOKEN={K}'),
    ("Shopify", "shopify", 'SHOPIFY_ACCESS_TOKEN={K}'),
    ("Shopify", "shopify", 'curl -H "X-Shopify-Access-Token: {K}" https://shop.myshopify.com/admin/api/2024-10/shop.json'),
    ("Telegram", "telegram", 'bot = telebot.TeleBot("{K}")'),
    ("Telegram", "telegram", 'curl https://api.telegram.org/bot{K}/getMe'),
    ("Mailgun", "mailgun", "auth=(\"api\", \"{K}\")"),
    ("Datadog", "datadog", 'DD_API_KEY={K}'),
    ("Datadog", "datadog", 'docker run -d -e DD_API_KEY={K} -e DD_SITE="datadoghq.com" gcr.io/datadoghq/agent:7'),
    ("DigitalOcean", "digitalocean", 'doctl auth init --access-token {K}'),
    ("Linear", "linear", 'LINEAR_API_KEY={K}'),
    ("Notion", "notion", 'notion = Client(auth="{K}")'),
    ("Doppler", "doppler", 'DOPPLER_TOKEN={K}'),
    ("New Relic", "newrelic", 'NEW_RELIC_API_KEY={K}'),
    ("Figma", "figma", 'curl -H "X-Figma-Token: {K}" https://api.figma.com/v1/me'),
    ("Heroku", "heroku", 'HEROKU_API_KEY={K}'),
    ("Azure", "azure_storage", 'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={K};EndpointSuffix=core.windows.net"'),
    ("JWT", "jwt", 'Authorization: Bearer {K}'),
    ("JWT", "jwt", '{{"access_token": "{K}", "token_type": "Bearer"}}'),
    ("Private key", "pem", '{K}'),
    ("Database", "password", 'DATABASE_URL=postgres://app:{K}@db.internal:5432/app'),
    ("Database", "password", 'spring.datasource.password={K}'),
    ("Database", "password", 'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: {K}'),
    ("Database", "password", "mysql -u root -p'{K}' -h 127.0.0.1"),
    ("Database", "password", "CREATE USER app WITH PASSWORD '{K}';"),
    ("PlanetScale", "planetscale", 'PLANETSCALE_SERVICE_TOKEN={K}'),
    ("age", "age", '# created: 2024-05-01T10:00:00Z\n# public key: age1' + "q" * 58 + '\n{K}'),
    ("SonarQube", "sonarqube", 'sonar-scanner -Dsonar.token={K}'),
    ("Google", "google_oauth_secret", '{{"web":{{"client_id":"123.apps.googleusercontent.com","client_secret":"{K}"}}}}'),
    ("Google", "google_access_token", 'curl -H "Authorization: Bearer {K}" https://www.googleapis.com/drive/v3/files'),
    ("Twitter", "twitter_bearer", 'export BEARER_TOKEN=\'{K}\''),
    # generic shapes a scanner must read without a provider prefix
    ("generic", "generic32", 'var apiToken string = "{K}"'),
    ("generic", "generic32", 'val apiKey: String = "{K}"'),
    ("generic", "generic32", 'private static final String API_SECRET = "{K}";'),
    ("generic", "generic32", 'System.setProperty("API_TOKEN", "{K}");'),
    ("generic", "generic32", 'os.Setenv("SERVICE_API_KEY", "{K}")'),
    ("generic", "generic32", "buildConfigField 'String', 'API_KEY', '\"{K}\"'"),
    ("generic", "generic32", 'API_KEY ?= {K}'),
    ("generic", "generic32", '<apiToken>\n    {K}\n</apiToken>'),
    ("generic", "generic32", 'ENV SERVICE_TOKEN={K}'),
    ("generic", "generic_hex40", 'client_secret: {K}'),
    ("generic", "generic_hex40", 'headers.put("X-Api-Key", "{K}");'),
    ("generic", "generic32", 'const token = `{K}`;'),
]

# Texts the same docs show where no key is: none of these may produce a finding.
NEGATIVES = [
    'export OPENAI_API_KEY="sk-..."',
    'client = OpenAI(api_key=os.environ.get("OPENAI_API_KEY"))',
    'ANTHROPIC_API_KEY=<your-api-key>',
    'api_key = "YOUR_API_KEY"',
    'env:\n  OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}',
    'const client = new Anthropic({ apiKey: process.env["ANTHROPIC_API_KEY"] });',
    'export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'stripe.api_key = "sk_test_..."',
    'DATABASE_URL=postgres://user:password@localhost:5432/mydb',
    'password: ${DB_PASSWORD}',
    'token = get_token(scope="read")',
    'curl -H "Authorization: Bearer $TOKEN" https://api.example.com',
    '"integrity": "sha512-' + base64.b64encode(bytes(range(64))).decode() + '"',
    'commit 3f4e5d6c7b8a99102938475610293847561abcde',
    '"request_id": "9b2c6f4e-1a3d-4c5b-8e7f-0a1b2c3d4e5f"',
    'SLACK_BOT_TOKEN=xoxb-your-bot-token',
    'curl https://api.telegram.org/bot<token>/getMe',
    '{"token": "{{ .Values.token }}"}',
    'secretKeyRef:\n  name: openai-secret\n  key: api-key',
    'const API_KEY_HEADER = "X-Api-Key";',
    'password_min_length = 12',
    "printf('api_key=%s', key)",
    '.token-input:hover { border-color: #3b82f6; }',
    'app.get("/api/v1/tokens/:tokenId/refresh", refreshToken)',
    'logger.info("Using key=%s for request", redact(key))',
]


def render(template, key, fmt):
    out = template.replace("{K}", key)
    while "{K2:" in out:
        i = out.index("{K2:")
        j = out.index("}", i)
        out = out[:i] + FORMATS[out[i + 4:j]]() + out[j + 1:]
    return out.replace("{{", "{").replace("}}", "}")


def write(out_dir):
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(os.path.join(out_dir, "positive"))
    os.makedirs(os.path.join(out_dir, "negative"))
    labels = []
    for i, (provider, fmt, template) in enumerate(POSITIVES):
        key = FORMATS[fmt]()
        text = render(template, key, fmt)
        path = f"positive/{i:03d}-{fmt}.txt"
        with open(os.path.join(out_dir, path), "w", encoding="utf-8") as f:
            f.write(text + "\n")
        start = text.index(key)
        line = text[:start].count("\n") + 1
        end_line = line + key.count("\n")
        labels.append({"kind": "positive", "path": path, "line": line, "end_line": end_line,
                       "provider": provider, "format": fmt, "key": key})
    for i, text in enumerate(NEGATIVES):
        path = f"negative/{i:03d}.txt"
        with open(os.path.join(out_dir, path), "w", encoding="utf-8") as f:
            f.write(text + "\n")
        labels.append({"kind": "negative", "path": path, "line": 1,
                       "end_line": text.count("\n") + 1, "text": text})
    return labels


def score(binary, out_dir, labels, show):
    res = subprocess.run([binary, "scan", ".", "-f", "json", "--no-config", "--no-ignore",
                          "--show-secrets", "-q"], cwd=out_dir, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=False)
    if res.returncode not in (0, 1):
        sys.exit(f"scan failed ({res.returncode}): {res.stderr.decode()[:500]}")
    report = json.loads(res.stdout)
    findings = report["findings"] if isinstance(report, dict) else report
    by_path = collections.defaultdict(list)
    for f in findings:
        by_path[os.path.normpath(f["path"])].append(f)
    found = collections.Counter()
    total = collections.Counter()
    fp = 0
    missed = []
    for lab in labels:
        fs = by_path.get(os.path.normpath(lab["path"]), [])
        if lab["kind"] == "positive":
            group = "ai" if lab["format"] in AI_FORMATS else ("generic" if lab["provider"] == "generic" else "other")
            total[group] += 1
            key = lab["key"]
            hit = any(lab["line"] <= f["line"] <= lab["end_line"]
                      and (f.get("secret", "") in key or key in f.get("secret", "")) for f in fs)
            found[group] += hit
            if not hit:
                missed.append(f"MISS {lab['path']} ({lab['provider']})")
        else:
            if fs:
                fp += 1
                missed.append(f"FP   {lab['path']}: {', '.join(f['rule_id'] for f in fs)}")
    n_pos = sum(total.values())
    n_found = sum(found.values())
    n_neg = sum(1 for lab in labels if lab["kind"] == "negative")
    for g in sorted(total):
        print(f"  {g:8} {found[g]:3}/{total[g]:3}  recall {found[g] / total[g]:.3f}")
    print(f"docs corpus: recall {n_found}/{n_pos} = {n_found / n_pos:.3f}; "
          f"false positives {fp}/{n_neg} = {fp / n_neg:.3f}")
    if show:
        print("\n".join(missed))
    return n_found / n_pos, fp / n_neg


AI_FORMATS = {"openai", "anthropic", "gemini", "groq", "xai", "huggingface", "replicate",
              "openrouter", "perplexity", "deepseek", "mistral", "cohere", "together", "pinecone",
              "langsmith", "elevenlabs"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="corpus directory (default: a temp dir)")
    ap.add_argument("--score", metavar="BIN", help="scan the corpus with this keysweep binary")
    ap.add_argument("--show", action="store_true", help="list misses and false positives")
    ap.add_argument("--min-recall", type=float, default=0.0)
    ap.add_argument("--max-fp-rate", type=float, default=1.0)
    args = ap.parse_args()
    out_dir = args.out or tempfile.mkdtemp(prefix="keysweep-docs-corpus-")
    labels = write(out_dir)
    with open(os.path.join(out_dir, "labels.jsonl"), "w", encoding="utf-8") as f:
        for lab in labels:
            f.write(json.dumps(lab) + "\n")
    if args.score:
        recall, fp_rate = score(args.score, out_dir, labels, args.show)
        if not args.out:
            shutil.rmtree(out_dir)
        if recall < args.min_recall or fp_rate > args.max_fp_rate:
            sys.exit(f"below target: recall {recall:.3f} < {args.min_recall} "
                     f"or fp-rate {fp_rate:.3f} > {args.max_fp_rate}")
    else:
        print(f"wrote {len(labels)} labelled texts to {out_dir}")


if __name__ == "__main__":
    main()
