#!/usr/bin/env python3
"""Generate keysweep's labelled accuracy corpus (docs/accuracy.md).

    python3 scripts/gen_accuracy.py                  # rewrite fixtures/accuracy/
    python3 scripts/gen_accuracy.py --out DIR        # write the corpus somewhere else
    python3 scripts/gen_accuracy.py --bulk DIR --mb 12
                                                     # >= 12 MB of hard negatives only

Everything is derived from one seeded PRNG, so the output is byte-for-byte reproducible (the
`accuracy` integration test regenerates the corpus and compares it with the committed copy).

Positives are fake keys built from each credential FORMAT (prefix, alphabet, length, checksum or
embedded structure) as described in /work/shared/key-formats.md and providers' docs; none is
copied from a rule's examples. Each planted key is one line of `labels.jsonl`:
`{"path", "line", "rule", "secret_sha256"}`. Negatives are the hard cases real repositories are
full of: placeholders and documentation values, lock-file integrity hashes, UUIDs, git SHAs,
base64 images, hex test vectors, checksums, minified bundles, and near-miss keys (wrong length,
alphabet or checksum). No third-party packages: python3 standard library only.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import string
import sys
import urllib.parse
import uuid
import zlib

SEED = 0x6B657973  # "keys"
SAMPLES_PER_SPEC = 4

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = DIGITS + UPPER + LOWER
BASE62 = DIGITS + UPPER + LOWER  # GitHub / npm checksum alphabet, in this order
HEX = "0123456789abcdef"
B64URL = ALNUM + "_-"
B64 = ALNUM + "+/"

# Substrings the engine's placeholder filter treats as "not a real key" (src/engine/filters.rs).
# A random value that happens to spell one is drawn again: the filter drops such values by
# design, and the corpus measures the rules, not that trade-off.
PLACEHOLDER_WORDS = [
    "xxxx", "****", "...", "example", "your_", "your-", "yourapi", "yourkey", "yoursecret",
    "yourtoken", "placeholder", "changeme", "change_me", "redacted", "filtered", "dummy",
    "insert", "replace_me", "replaceme", "fake", "sample", "notreal", "not_real", "secret_here",
    "key_here", "token_here", "<", ">", "${", "{{", "}}", "$(", "%s", "%(",
]


def looks_like_placeholder(value):
    low = value.lower()
    if any(w in low for w in PLACEHOLDER_WORDS):
        return True
    run = up = down = 1
    for a, b in zip(value, value[1:]):
        both = a.isalnum() and b.isalnum()
        run = run + 1 if a == b and a.isalnum() else 1
        up = up + 1 if both and ord(b) == ord(a) + 1 else 1
        down = down + 1 if both and ord(b) + 1 == ord(a) else 1
        if run >= 6 or up >= 7 or down >= 7:
            return True
    return False


class Gen:
    """Random building blocks on top of one seeded PRNG."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def s(self, alphabet, n):
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def clean(self, alphabet, n):
        while True:
            v = self.s(alphabet, n)
            if not looks_like_placeholder(v):
                return v

    def hex(self, n):
        return self.clean(HEX, n)

    def alnum(self, n):
        return self.clean(ALNUM, n)

    def b64url(self, n):
        # Real base64url keys rarely start or end with a separator; keep them inside.
        return self.alnum(1) + self.clean(B64URL, n - 2) + self.alnum(1)

    def bytes(self, n):
        return bytes(self.r.getrandbits(8) for _ in range(n))

    def uuid4(self):
        return str(uuid.UUID(bytes=self.bytes(16), version=4))

    def pick(self, seq):
        return self.r.choice(seq)

    def int(self, lo, hi):
        return self.r.randint(lo, hi)


def crc_token(g, prefix):
    """GitHub/npm scheme: 30 base62 chars + base62(crc32 of those 30), zero-padded to 6."""
    body = g.clean(BASE62, 30)
    n = zlib.crc32(body.encode()) & 0xFFFFFFFF
    check = ""
    for _ in range(6):
        check = BASE62[n % 62] + check
        n //= 62
    return prefix + body + check


def b64_of(raw):
    return base64.b64encode(raw).decode()


def b64url_nopad(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pypi_token(g, location):
    """A PyPI macaroon: version 2, location field, identifier, signature; base64url."""
    loc = location.encode()
    ident = json.dumps({"version": 1, "permissions": "user"}).encode()
    raw = bytes([2, 1, len(loc)]) + loc + bytes([2, len(ident)]) + ident
    raw += bytes([0, 2, 6, 32]) + g.bytes(32)
    raw += bytes([2, 36]) + g.uuid4().encode() + bytes([0, 6, 32]) + g.bytes(32)
    return "pypi-" + b64url_nopad(raw)


def jwt_rs256(g, header):
    payload = {"sub": "jfrt@" + g.hex(26), "scp": "applied-permissions/user",
               "aud": "*@*", "iss": "jfrt@" + g.hex(26), "exp": g.int(1700000000, 1900000000),
               "iat": g.int(1600000000, 1690000000), "jti": g.uuid4()}
    enc = lambda d: b64url_nopad(json.dumps(d, separators=(",", ":")).encode())
    return enc(header) + "." + enc(payload) + "." + b64url_nopad(g.bytes(256))


def artifactory_reference(g):
    while True:
        raw = ("reftkn:01:%d:%s" % (g.int(1700000000, 1999999999), g.alnum(27))).encode()
        tok = b64_of(raw)
        if tok.isalnum() and tok.startswith("cmVmdGtuOjAxOj"):
            return tok


def pem_private_key(g, newline):
    body = b64_of(g.bytes(g.int(600, 900)))
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return newline.join(["-----BEGIN PRIVATE KEY-----"] + lines + ["-----END PRIVATE KEY-----", ""])


def azure_ad_secret(g):
    return g.clean(ALNUM + "_.~-", 3) + g.pick(DIGITS) + "Q~" + g.alnum(1) + \
        g.clean(ALNUM + "_.~-", 32) + g.alnum(1)


def sas_sig(g):
    return urllib.parse.quote(b64_of(g.bytes(32)), safe="")


# --------------------------------------------------------------------------------------------
# Key specs. kind:
#   "prefix"  self-identifying key: planted in every setting, many per file
#   "assign"  needs its variable name on the same line: only settings that name a variable
#   "context" ambiguous shape: one sample per file, with the provider's context nearby
#   "custom"  planted by its own templates (connection strings, JSON documents...)
# var: the variable name used in assignments. ctx: a context line placed above the key
# (e.g. a base URL) for "context" specs. styles: restricts the assignment styles used.
# --------------------------------------------------------------------------------------------

def S(rule, kind, make, var=None, ctx=None, styles=None, templates=None):
    return {"rule": rule, "kind": kind, "make": make, "var": var, "ctx": ctx,
            "styles": styles, "templates": templates}


def openai_like(prefix):
    return lambda g: prefix + g.b64url(74) + "T3BlbkFJ" + g.b64url(74)


def anthropic_like(kind):
    return lambda g: "sk-ant-" + kind + "-" + g.b64url(93) + "AA"


SPECS = [
    # --- AI / LLM (Chinese providers: ambiguous sk- shapes, attributed by context) ---
    S("deepseek-api-key", "context", lambda g: "sk-" + g.hex(32), var="DEEPSEEK_API_KEY",
      ctx='base_url = "https://api.deepseek.com"'),
    S("dashscope-api-key", "context", lambda g: "sk-" + g.hex(32), var="DASHSCOPE_API_KEY",
      ctx='base_url = "https://dashscope.aliyuncs.com/compatible-mode/v1"'),
    S("moonshot-api-key", "context", lambda g: "sk-" + g.alnum(48), var="MOONSHOT_API_KEY",
      ctx='base_url = "https://api.moonshot.ai/v1"'),
    S("siliconflow-api-key", "context", lambda g: "sk-" + g.clean(LOWER, 48),
      var="SILICONFLOW_API_KEY", ctx='base_url = "https://api.siliconflow.cn/v1"'),
    S("baidu-qianfan-api-key", "context", lambda g: "sk-" + g.alnum(40), var="QIANFAN_API_KEY",
      ctx='base_url = "https://qianfan.baidubce.com/v2"'),
    S("baidu-qianfan-bce-api-key", "prefix",
      lambda g: "bce-v3/ALTAK-" + g.alnum(21) + "/" + g.hex(40)),
    S("volcengine-ark-api-key", "context", lambda g: "sk-" + g.alnum(48), var="ARK_API_KEY",
      ctx='base_url = "https://ark.cn-beijing.volces.com/api/v3"'),
    S("volcengine-ark-uuid-api-key", "context", lambda g: g.uuid4(), var="ARK_API_KEY",
      ctx='base_url = "https://ark.cn-beijing.volces.com/api/v3"'),
    S("baichuan-api-key", "context", lambda g: "sk-" + g.alnum(32), var="BAICHUAN_API_KEY",
      ctx='base_url = "https://api.baichuan-ai.com/v1"'),
    S("zhipu-api-key", "assign", lambda g: g.hex(32) + "." + g.alnum(16), var="ZHIPUAI_API_KEY"),
    # --- AI / LLM ---
    S("openai-project-key", "prefix", openai_like("sk-proj-")),
    S("openai-service-account-key", "prefix", openai_like("sk-svcacct-")),
    S("openai-admin-key", "prefix", openai_like("sk-admin-")),
    S("openai-user-key", "prefix", openai_like("sk-None-")),
    S("openai-legacy-key", "prefix", lambda g: "sk-" + g.alnum(20) + "T3BlbkFJ" + g.alnum(20)),
    S("anthropic-api-key", "prefix", anthropic_like("api03")),
    S("anthropic-admin-key", "prefix", anthropic_like("admin01")),
    S("anthropic-oauth-access-token", "prefix", anthropic_like("oat01")),
    S("anthropic-oauth-refresh-token", "prefix", anthropic_like("ort01")),
    S("anthropic-session-key", "prefix", anthropic_like("sid01")),
    S("groq-api-key", "prefix", lambda g: "gsk_" + g.alnum(20) + "WGdyb3FY" + g.alnum(24)),
    S("xai-api-key", "prefix", lambda g: "xai-" + g.alnum(80)),
    S("google-api-key", "prefix", lambda g: "AIza" + g.clean(B64URL, 34) + g.alnum(1)),
    S("huggingface-access-token", "prefix", lambda g: "hf_" + g.clean(UPPER + LOWER, 34)),
    S("huggingface-org-token", "prefix", lambda g: "api_org_" + g.clean(UPPER + LOWER, 34)),
    S("replicate-api-token", "prefix", lambda g: "r8_" + g.alnum(37)),
    S("openrouter-api-key", "prefix", lambda g: "sk-or-v1-" + g.hex(64)),
    S("perplexity-api-key", "prefix", lambda g: "pplx-" + g.alnum(48)),
    S("cerebras-api-key", "prefix", lambda g: "csk-" + g.clean(LOWER + DIGITS, 48)),
    S("nvidia-nim-api-key", "prefix", lambda g: "nvapi-" + g.b64url(64)),
    S("tavily-api-key", "prefix", lambda g: "tvly-" + g.pick(["", "dev-", "prod-"]) + g.alnum(32)),
    S("together-api-key", "prefix", lambda g: "tgp_v1_" + g.b64url(43)),
    S("together-legacy-api-key", "assign", lambda g: g.hex(64), var="TOGETHER_API_KEY"),
    S("fireworks-api-key", "context", lambda g: "fw_" + g.alnum(24), var="FIREWORKS_API_KEY",
      ctx='base_url = "https://api.fireworks.ai/inference/v1"'),
    S("voyage-api-key", "prefix", lambda g: g.pick(["pa-", "al-"]) + g.b64url(43)),
    S("pinecone-api-key", "prefix",
      lambda g: "pcsk_" + g.alnum(g.int(5, 6)) + "_" + g.alnum(63)),
    S("pinecone-legacy-api-key", "assign", lambda g: g.uuid4(), var="PINECONE_API_KEY"),
    S("elevenlabs-api-key", "prefix", lambda g: "sk_" + g.hex(48)),
    S("elevenlabs-legacy-api-key", "assign", lambda g: g.hex(32), var="ELEVENLABS_API_KEY"),
    S("wandb-api-key", "assign", lambda g: g.hex(40), var="WANDB_API_KEY"),
    S("langsmith-personal-access-token", "prefix",
      lambda g: "lsv2_pt_" + g.hex(32) + "_" + g.hex(10)),
    S("langsmith-service-key", "prefix", lambda g: "lsv2_sk_" + g.hex(32) + "_" + g.hex(10)),
    S("langsmith-legacy-api-key", "prefix", lambda g: "ls__" + g.hex(32)),
    S("langfuse-secret-key", "prefix", lambda g: "sk-lf-" + g.uuid4()),
    S("azure-openai-api-key", "context", lambda g: g.hex(32), var="AZURE_OPENAI_API_KEY",
      ctx='endpoint = "https://contoso-eastus.openai.azure.com/"'),
    S("aws-bedrock-api-key", "prefix",
      lambda g: "ABSK" + b64_of(("BedrockAPIKey-%s-at-%d:%s" % (
          g.clean(LOWER + DIGITS, 4), g.int(10**11, 10**12 - 1), g.alnum(40))).encode())),
    S("aws-bedrock-short-term-api-key", "prefix",
      lambda g: "bedrock-api-key-" + b64_of((
          "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=ASIA%s%%2F20250101%%2Fus-east-1%%2Fbedrock%%2Faws4_request"
          "&X-Amz-Date=20250101T000000Z&X-Amz-Expires=43200&X-Amz-Security-Token=%s"
          "&X-Amz-Signature=%s&Version=1" % (g.clean(UPPER + "234567", 16),
                                              urllib.parse.quote(b64_of(g.bytes(120)), safe=""),
                                              g.hex(64))).encode())),
    S("mistral-api-key", "assign", lambda g: g.alnum(32), var="MISTRAL_API_KEY"),
    S("cohere-api-key", "assign", lambda g: g.alnum(40), var="COHERE_API_KEY"),
    S("stability-api-key", "context", lambda g: "sk-" + g.alnum(48), var="STABILITY_API_KEY",
      ctx='host = "https://api.stability.ai"'),
    S("unknown-sk-api-key", "context", lambda g: "sk-" + g.alnum(g.pick([32, 40, 48])),
      var="LLM_API_KEY", ctx='model = "chat-default"'),
    # --- cloud ---
    S("aws-access-key-id", "prefix",
      lambda g: g.pick(["AKIA", "ASIA"]) + g.clean(UPPER + "234567", 16)),
    S("aws-secret-access-key", "assign", lambda g: g.clean(B64, 40),
      var="AWS_SECRET_ACCESS_KEY"),
    S("aws-session-token", "assign",
      lambda g: "IQoJb3JpZ2luX2Vj" + b64_of(g.bytes(g.int(280, 400))).rstrip("="),
      var="AWS_SESSION_TOKEN", styles=["env", "shell", "ini", "yaml", "json"]),
    S("gcp-service-account-key", "custom", None),
    S("gcp-oauth-client-secret", "prefix", lambda g: "GOCSPX-" + g.b64url(28)),
    S("azure-storage-account-key", "custom", None),
    S("azure-shared-access-key", "custom", None),
    S("azure-sas-token", "custom", None),
    S("azure-ad-client-secret", "assign", azure_ad_secret, var="AZURE_CLIENT_SECRET"),
    S("digitalocean-personal-access-token", "prefix", lambda g: "dop_v1_" + g.hex(64)),
    S("digitalocean-oauth-token", "prefix", lambda g: "doo_v1_" + g.hex(64)),
    S("digitalocean-refresh-token", "prefix", lambda g: "dor_v1_" + g.hex(64)),
    S("cloudflare-api-token", "assign", lambda g: g.b64url(40), var="CLOUDFLARE_API_TOKEN"),
    S("cloudflare-global-api-key", "assign", lambda g: g.hex(37), var="CLOUDFLARE_API_KEY"),
    S("cloudflare-origin-ca-key", "prefix", lambda g: "v1.0-" + g.hex(24) + "-" + g.hex(146)),
    S("heroku-api-key", "prefix", lambda g: "HRKU-" + g.b64url(60)),
    S("heroku-api-key-legacy", "assign", lambda g: g.uuid4(), var="HEROKU_API_KEY"),
    # 16 or 24 characters in all: the older and the current AccessKey id lengths.
    S("alibaba-access-key-id", "prefix", lambda g: "LTAI" + g.alnum(g.pick([12, 20]))),
    S("alibaba-access-key-secret", "assign", lambda g: g.alnum(30),
      var="ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    S("ibm-cloud-api-key", "assign", lambda g: g.b64url(44), var="IBM_CLOUD_API_KEY",
      styles=["env", "shell", "yaml", "json", "python"]),
    S("linode-personal-access-token", "assign", lambda g: g.hex(64), var="LINODE_TOKEN"),
    S("vultr-api-key", "assign", lambda g: g.clean(UPPER + DIGITS, 36), var="VULTR_API_KEY"),
    S("scaleway-access-key", "prefix", lambda g: "SCW" + g.clean(UPPER + DIGITS, 17)),
    S("scaleway-secret-key", "assign", lambda g: g.uuid4(), var="SCW_SECRET_KEY"),
    # --- payments ---
    S("stripe-live-secret-key", "prefix", lambda g: "sk_live_51" + g.alnum(97)),
    S("stripe-live-restricted-key", "prefix", lambda g: "rk_live_51" + g.alnum(97)),
    S("stripe-test-key", "prefix", lambda g: g.pick(["sk", "rk"]) + "_test_51" + g.alnum(97)),
    S("stripe-webhook-secret", "prefix", lambda g: "whsec_" + g.alnum(32)),
    S("paystack-secret-key", "context", lambda g: "sk_live_" + g.hex(40),
      var="PAYSTACK_SECRET_KEY", ctx='api = "https://api.paystack.co"'),
    S("square-access-token", "prefix", lambda g: "EAAA" + g.b64url(60)),
    S("square-legacy-access-token", "prefix", lambda g: "sq0atp-" + g.b64url(22)),
    S("square-oauth-secret", "prefix", lambda g: "sq0csp-" + g.b64url(43)),
    S("braintree-access-token", "prefix",
      lambda g: "access_token$production$" + g.clean(LOWER + DIGITS, 16) + "$" + g.hex(32)),
    S("paypal-client-secret", "assign", lambda g: g.b64url(80), var="PAYPAL_CLIENT_SECRET"),
    S("shopify-admin-access-token", "prefix", lambda g: "shpat_" + g.hex(32)),
    S("shopify-custom-app-token", "prefix", lambda g: "shpca_" + g.hex(32)),
    S("shopify-private-app-password", "prefix", lambda g: "shppa_" + g.hex(32)),
    S("shopify-shared-secret", "prefix", lambda g: "shpss_" + g.hex(32)),
    S("adyen-api-key", "context",
      lambda g: "AQE" + b64_of(g.bytes(96)).rstrip("=") + "=-" + b64_of(g.bytes(32)),
      var="ADYEN_API_KEY", ctx='endpoint = "https://checkout-test.adyen.com/v71"'),
    S("plaid-access-token", "prefix",
      lambda g: "access-" + g.pick(["production", "development"]) + "-" + g.uuid4()),
    S("plaid-secret", "assign", lambda g: g.hex(30), var="PLAID_SECRET"),
    S("razorpay-live-key-id", "prefix", lambda g: "rzp_live_" + g.alnum(14)),
    S("razorpay-key-secret", "assign", lambda g: g.alnum(24), var="RAZORPAY_KEY_SECRET"),
    S("coinbase-api-secret", "assign", lambda g: g.alnum(32), var="COINBASE_API_SECRET"),
    S("flutterwave-secret-key", "prefix", lambda g: "FLWSECK-" + g.hex(32) + "-X"),
    # --- registries, IaC, secrets managers ---
    S("npm-access-token", "prefix", lambda g: crc_token(g, "npm_")),
    S("pypi-upload-token", "prefix", lambda g: pypi_token(g, "pypi.org")),
    S("pypi-test-upload-token", "prefix", lambda g: pypi_token(g, "test.pypi.org")),
    S("rubygems-api-key", "prefix", lambda g: "rubygems_" + g.hex(48)),
    S("crates-io-api-token", "prefix", lambda g: "cio" + g.alnum(32)),
    S("nuget-api-key", "prefix", lambda g: "oy2" + g.clean(LOWER + DIGITS, 43)),
    S("docker-hub-access-token", "prefix",
      lambda g: "dckr_" + g.pick(["pat", "oat"]) + "_" + g.b64url(27)),
    S("artifactory-api-key", "prefix", lambda g: "AKCp" + g.alnum(69)),
    S("artifactory-reference-token", "prefix", artifactory_reference),
    S("jfrog-access-token", "prefix",
      lambda g: jwt_rs256(g, {"ver": "2", "typ": "JWT", "alg": "RS256", "kid": g.b64url(43)})),
    S("packagist-token", "prefix",
      lambda g: "packagist_" + g.pick(["uat", "ort", "uut"]) + "_" + g.alnum(64)),
    S("hex-api-key", "assign", lambda g: g.hex(32), var="HEX_API_KEY",
      styles=["env", "shell", "yaml", "ini"]),
    S("terraform-cloud-api-token", "prefix",
      lambda g: g.alnum(14) + ".atlasv1." + g.alnum(67)),
    S("vault-service-token", "prefix", lambda g: "hvs." + g.b64url(90)),
    S("vault-batch-token", "prefix", lambda g: "hvb." + g.b64url(138)),
    S("pulumi-access-token", "prefix", lambda g: "pul-" + g.hex(40)),
    S("doppler-token", "prefix",
      lambda g: "dp." + g.pick(["pt", "st.dev", "sa", "ct"]) + "." + g.alnum(43)),
    S("postman-api-key", "prefix", lambda g: "PMAK-" + g.hex(24) + "-" + g.hex(34)),
    # --- version control and CI ---
    S("github-pat", "prefix", lambda g: crc_token(g, "ghp_")),
    S("github-oauth-token", "prefix", lambda g: crc_token(g, "gho_")),
    S("github-user-to-server-token", "prefix", lambda g: crc_token(g, "ghu_")),
    S("github-app-installation-token", "prefix", lambda g: crc_token(g, "ghs_")),
    S("github-refresh-token", "prefix", lambda g: crc_token(g, "ghr_")),
    S("github-fine-grained-pat", "prefix",
      lambda g: "github_pat_" + g.alnum(22) + "_" + g.alnum(59)),
    S("gitlab-pat", "prefix", lambda g: "glpat-" + g.b64url(20)),
    S("gitlab-deploy-token", "prefix", lambda g: "gldt-" + g.b64url(20)),
    S("gitlab-runner-token", "prefix", lambda g: "glrt-" + g.b64url(20)),
    S("gitlab-pipeline-trigger-token", "prefix", lambda g: "glptt-" + g.hex(40)),
    S("gitlab-ci-job-token", "prefix",
      lambda g: "glcbt-" + g.hex(g.int(1, 5)) + "_" + g.b64url(20)),
    S("gitlab-oauth-app-secret", "prefix", lambda g: "gloas-" + g.hex(64)),
    S("gitlab-scim-token", "prefix", lambda g: "glsoat-" + g.b64url(20)),
    S("gitlab-runner-registration-token", "prefix", lambda g: "GR1348941" + g.b64url(20)),
    S("gitlab-incoming-mail-token", "prefix", lambda g: "glimt-" + g.b64url(25)),
    S("gitlab-agent-token", "prefix", lambda g: "glagent-" + g.b64url(50)),
    S("gitlab-feature-flags-client-token", "prefix", lambda g: "glffct-" + g.b64url(20)),
    S("gitlab-feed-token", "prefix", lambda g: "glft-" + g.b64url(20)),
    S("bitbucket-app-password", "prefix", lambda g: "ATBB" + g.alnum(32)),
    S("bitbucket-access-token", "prefix",
      lambda g: "ATCTT3xFfGN0" + g.b64url(180) + "=" + g.clean("0123456789ABCDEF", 8)),
    S("circleci-personal-token", "prefix",
      lambda g: "CCIPAT_" + g.alnum(22) + "_" + g.hex(40)),
    S("circleci-legacy-token", "assign", lambda g: g.hex(40), var="CIRCLE_TOKEN"),
    S("travis-ci-token", "assign", lambda g: g.b64url(22), var="TRAVIS_API_TOKEN"),
    S("buildkite-api-token", "prefix", lambda g: "bkua_" + g.hex(40)),
    S("azure-devops-pat", "assign", lambda g: g.clean(LOWER + "234567", 52),
      var="AZURE_DEVOPS_PAT"),
    S("jenkins-api-token", "assign", lambda g: "11" + g.hex(32), var="JENKINS_API_TOKEN"),
    S("drone-ci-token", "assign", lambda g: g.alnum(32), var="DRONE_TOKEN"),
]


# --- the rules added after the first 141 (messaging, observability, SaaS, keys, URLs, files,
# generic catch-alls). Same principle: built from each FORMAT, never from a rule's examples. ---

def digits_n(g, lo, hi):
    n = g.int(lo, hi)
    return g.pick("123456789") + g.s(DIGITS, n - 1)


def literal(g, n, extra=""):
    """A random value with at least one letter and one digit (generic rules want both)."""
    while True:
        v = g.alnum(1) + g.clean(ALNUM + extra, n - 2) + g.alnum(1)
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            return v


def password(g):
    return literal(g, g.int(14, 22), "_-~")


def jwt_token(g, header, payload, sig_bytes):
    enc = lambda d: b64url_nopad(json.dumps(d, separators=(",", ":")).encode())
    return enc(header) + "." + enc(payload) + "." + b64url_nopad(g.bytes(sig_bytes))


def any_jwt(g):
    alg, sig = g.pick([("HS256", 32), ("RS256", 256), ("ES256", 64)])
    now = g.int(1690000000, 1760000000)
    return jwt_token(g, {"alg": alg, "typ": "JWT"},
                     {"sub": g.clean(LOWER + DIGITS, 12), "iss": "https://auth.%s.io/" % g.clean(LOWER, 6),
                      "iat": now, "exp": now + g.int(3600, 10**8), "scope": "read write"}, sig)


def supabase_service_jwt(g):
    now = g.int(1690000000, 1760000000)
    return jwt_token(g, {"alg": "HS256", "typ": "JWT"},
                     {"iss": "supabase", "ref": g.clean(LOWER, 20), "role": "service_role",
                      "iat": now, "exp": now + 10 * 365 * 86400}, 32)


def discord_bot(g):
    user_id = digits_n(g, 18, 19)
    return b64url_nopad(user_id.encode()) + "." + g.b64url(6) + "." + g.b64url(38)


def sentry_org_token(g):
    org = g.clean(LOWER, 8)
    claims = {"iat": g.int(1690000000, 1760000000) + 0.5, "url": "https://sentry.io",
              "region_url": "https://us.sentry.io", "org": org}
    body = b64url_nopad(json.dumps(claims, separators=(",", ":")).encode())
    return "sntrys_" + body + "_" + b64_of(g.bytes(32)).rstrip("=")


def grafana_cloud(g):
    claims = {"o": digits_n(g, 6, 7), "n": "stack-%s-hm-read-%s" % (digits_n(g, 6, 6), g.clean(LOWER, 5)),
              "k": g.alnum(24), "m": {"r": g.pick(["prod-us-east-0", "prod-eu-west-2"])}}
    return "glc_" + b64_of(json.dumps(claims, separators=(",", ":")).encode())


def grafana_legacy(g):
    claims = {"k": g.alnum(32), "n": "ci-" + g.clean(LOWER, 5), "id": g.int(1, 999)}
    return b64_of(json.dumps(claims, separators=(",", ":")).encode())


def mapbox_secret(g):
    claims = {"u": g.clean(LOWER, 8), "a": g.clean(LOWER + DIGITS, 25)}
    return "sk." + b64url_nopad(json.dumps(claims, separators=(",", ":")).encode()) + "." + g.b64url(22)


def teams_webhook(g):
    url = "https://%s.webhook.office.com/webhookb2/%s@%s/IncomingWebhook/%s/%s" % (
        g.clean(LOWER, 7), g.uuid4(), g.uuid4(), g.hex(32), g.uuid4())
    return url + g.pick(["", "/V2" + g.b64url(40)])


SPECS += [
    # --- messaging, email ---
    S("slack-bot-token", "prefix",
      lambda g: "xoxb-%s-%s-%s" % (digits_n(g, 10, 12), digits_n(g, 12, 13), g.alnum(24))),
    S("slack-user-token", "prefix",
      lambda g: "xoxp-%s-%s-%s-%s" % (digits_n(g, 10, 12), digits_n(g, 12, 13),
                                      digits_n(g, 12, 13), g.hex(32))),
    S("slack-app-token", "prefix",
      lambda g: "xapp-1-A%s-%s-%s" % (g.clean(UPPER + DIGITS, 10), digits_n(g, 13, 13), g.hex(64))),
    S("slack-rotating-access-token", "prefix",
      lambda g: "xoxe.%s-1-%s" % (g.pick(["xoxp", "xoxb"]), g.alnum(g.int(140, 160)))),
    S("slack-refresh-token", "prefix", lambda g: "xoxe-1-" + g.alnum(g.int(140, 160))),
    S("slack-workspace-token", "prefix",
      lambda g: "xoxa-2-%s-%s-%s-%s" % (digits_n(g, 10, 12), digits_n(g, 12, 13),
                                        digits_n(g, 12, 13), g.hex(64))),
    # Older or loosely documented shapes: no structure the structured rules accept.
    S("slack-token", "prefix",
      lambda g: g.pick(["xoxb-%s-%s" % (digits_n(g, 12, 12), g.alnum(30)),
                        "xoxs-%s-%s" % (digits_n(g, 10, 12), g.alnum(32)),
                        "xoxr-%s" % g.alnum(40)])),
    S("slack-webhook-url", "prefix",
      lambda g: "https://hooks.slack.com/services/T%s/B%s/%s" % (
          g.clean(UPPER + DIGITS, 10), g.clean(UPPER + DIGITS, 10), g.alnum(24))),
    S("discord-bot-token", "assign", discord_bot, var="DISCORD_BOT_TOKEN"),
    S("discord-webhook-url", "prefix",
      lambda g: "https://discord.com/api/webhooks/%s/%s" % (digits_n(g, 18, 19), g.b64url(68))),
    S("telegram-bot-token", "assign",
      lambda g: "%s:AA%s" % (digits_n(g, 9, 10), g.b64url(33)), var="TELEGRAM_BOT_TOKEN"),
    S("twilio-api-key-sid", "assign", lambda g: "SK" + g.hex(32), var="TWILIO_API_KEY"),
    S("twilio-auth-token", "assign", lambda g: g.hex(32), var="TWILIO_AUTH_TOKEN"),
    S("twilio-credentials-pair", "custom", None),
    S("sendgrid-api-key", "prefix", lambda g: "SG." + g.b64url(22) + "." + g.b64url(43)),
    S("mailgun-api-key", "prefix", lambda g: "key-" + g.hex(32)),
    S("mailgun-private-key", "assign", lambda g: "%s-%s-%s" % (g.hex(32), g.hex(8), g.hex(8)),
      var="MAILGUN_API_KEY"),
    S("mailchimp-api-key", "prefix", lambda g: "%s-us%d" % (g.hex(32), g.int(1, 20))),
    S("postmark-token", "assign", lambda g: g.uuid4(), var="POSTMARK_SERVER_TOKEN"),
    S("microsoft-teams-webhook-url", "prefix", teams_webhook),
    S("mattermost-webhook-url", "assign",
      lambda g: "https://chat.%s.io/hooks/%s" % (g.clean(LOWER, 6), g.clean(LOWER + DIGITS, 26)),
      var="MATTERMOST_WEBHOOK_URL"),
    # --- observability ---
    S("datadog-api-key", "assign", lambda g: g.hex(32), var="DATADOG_API_KEY"),
    S("datadog-app-key", "assign", lambda g: g.hex(40), var="DATADOG_APP_KEY"),
    S("newrelic-user-api-key", "prefix", lambda g: "NRAK-" + g.clean(UPPER + DIGITS, 27)),
    S("newrelic-admin-api-key", "prefix", lambda g: "NRAA-" + g.hex(27)),
    S("newrelic-insights-key", "prefix", lambda g: g.pick(["NRII-", "NRIQ-"]) + g.b64url(32)),
    S("newrelic-browser-key", "prefix", lambda g: "NRJS-" + g.hex(19)),
    S("newrelic-license-key", "prefix", lambda g: g.hex(36) + "NRAL"),
    S("sentry-org-auth-token", "prefix", sentry_org_token),
    S("sentry-user-auth-token", "prefix", lambda g: "sntryu_" + g.hex(64)),
    S("sentry-dsn-secret", "custom", None),
    S("grafana-cloud-token", "prefix", grafana_cloud),
    S("grafana-service-account-token", "prefix",
      lambda g: "glsa_" + g.alnum(32) + "_" + g.hex(8)),
    S("grafana-api-key", "prefix", grafana_legacy),
    S("honeycomb-ingest-key", "prefix",
      lambda g: "hc%s%sk_%s" % (g.pick("ax"), g.pick("im"), g.clean(LOWER + DIGITS, 58))),
    S("honeycomb-api-key", "assign", lambda g: g.alnum(22), var="HONEYCOMB_API_KEY"),
    S("dynatrace-api-token", "prefix",
      lambda g: "dt0c01." + g.clean(UPPER + DIGITS, 24) + "." + g.clean(UPPER + DIGITS, 64)),
    S("pagerduty-api-key", "assign", lambda g: g.alnum(1) + g.clean(ALNUM + "_+-", 18) + g.alnum(1),
      var="PAGERDUTY_API_KEY"),
    S("splunk-hec-token", "assign", lambda g: g.uuid4(), var="SPLUNK_HEC_TOKEN"),
    S("logzio-shipping-token", "assign", lambda g: g.clean(UPPER + LOWER, 32), var="LOGZIO_TOKEN"),
    # --- SaaS ---
    S("atlassian-api-token", "prefix",
      lambda g: "ATATT3" + g.b64url(g.int(176, 190)) + "=" + g.clean("0123456789ABCDEF", 8)),
    S("notion-integration-token", "prefix", lambda g: "ntn_" + g.s(DIGITS, 11) + g.alnum(35)),
    S("notion-legacy-token", "assign", lambda g: "secret_" + g.alnum(43), var="NOTION_API_KEY"),
    S("linear-api-key", "prefix",
      lambda g: g.pick(["lin_api_" + g.alnum(40), "lin_oauth_" + g.hex(64)])),
    S("airtable-pat", "prefix", lambda g: "pat" + g.alnum(14) + "." + g.hex(64)),
    S("okta-api-token", "assign", lambda g: "00" + g.b64url(40), var="OKTA_API_TOKEN"),
    S("auth0-client-secret", "assign", lambda g: g.b64url(64), var="AUTH0_CLIENT_SECRET"),
    S("firebase-fcm-server-key", "prefix",
      lambda g: "AAAA" + g.b64url(7) + ":APA91b" + g.b64url(134)),
    S("supabase-access-token", "prefix",
      lambda g: g.pick(["sbp_" + g.hex(40), "sb_secret_" + g.b64url(40)])),
    S("supabase-service-role-key", "assign", supabase_service_jwt,
      var="SUPABASE_SERVICE_ROLE_KEY"),
    S("vercel-token", "assign", lambda g: g.alnum(24), var="VERCEL_TOKEN"),
    S("netlify-token", "prefix", lambda g: "nfp_" + g.alnum(g.int(36, 40))),
    S("figma-pat", "prefix", lambda g: "figd_" + g.b64url(g.int(38, 44))),
    S("asana-pat", "assign",
      lambda g: "%d/%s/%s:%s" % (g.int(1, 2), digits_n(g, 16, 16), digits_n(g, 16, 16), g.hex(32)),
      var="ASANA_TOKEN"),
    S("hubspot-private-app-token", "prefix",
      lambda g: "pat-%s%d-%s" % (g.pick(["na", "eu", "ap"]), g.int(1, 2), g.uuid4())),
    S("zendesk-api-token", "assign", lambda g: g.alnum(40), var="ZENDESK_API_TOKEN"),
    S("intercom-access-token", "prefix",
      lambda g: b64_of(("tok:%s:1:0" % g.uuid4()).encode())),
    S("contentful-management-token", "prefix", lambda g: "CFPAT-" + g.b64url(43)),
    S("algolia-admin-key", "assign", lambda g: g.hex(32), var="ALGOLIA_ADMIN_KEY"),
    S("mapbox-secret-token", "prefix", mapbox_secret),
    S("typeform-pat", "prefix", lambda g: "tfp_" + g.b64url(g.int(50, 60))),
    # --- private keys and tokens with a structure ---
    S("private-key-pem", "custom", None),
    S("private-key-openssh", "custom", None),
    S("private-key-pgp", "custom", None),
    S("private-key-putty", "custom", None),
    S("jwt", "prefix", any_jwt),
    # --- connection URLs ---
    S("postgres-url-password", "custom", None),
    S("mysql-url-password", "custom", None),
    S("mongodb-url-password", "custom", None),
    S("redis-url-password", "custom", None),
    S("amqp-url-password", "custom", None),
    S("mssql-url-password", "custom", None),
    S("ldap-url-password", "custom", None),
    S("ftp-url-password", "custom", None),
    S("smtp-url-password", "custom", None),
    S("generic-url-password", "custom", None),
    S("jdbc-url-password", "custom", None),
    # --- credential files ---
    S("npmrc-auth-token", "custom", None),
    S("npmrc-auth", "custom", None),
    S("pypirc-password", "custom", None),
    S("netrc-password", "custom", None),
    S("curl-user-password", "custom", None),
    S("zsh-history-secret-export", "custom", None),
    S("docker-config-auth", "custom", None),
    S("docker-config-identity-token", "custom", None),
    S("git-credentials", "custom", None),
    S("htpasswd-bcrypt", "custom", None),
    S("maven-settings-password", "custom", None),
    # --- generic assignments and headers: a value no provider rule claims ---
    S("generic-secret-assignment", "assign", lambda g: literal(g, g.int(24, 40)),
      var="BILLING_SERVICE_API_KEY",
      styles=["shell", "python", "pycall", "js", "ts", "go", "rust", "java", "json",
              "jsoncompact", "toml", "pyenviron", "envcrlf"]),
    S("generic-secret-env", "assign", lambda g: literal(g, g.int(24, 40)),
      var="SEARCH_SERVICE_TOKEN", styles=["env", "ini", "yaml"]),
    S("generic-password-assignment", "assign", lambda g: literal(g, g.int(12, 20), "!*-_+=~"),
      var="SMTP_PASSWORD",
      styles=["shell", "python", "pycall", "js", "ts", "go", "rust", "java", "json",
              "jsoncompact", "toml", "pyenviron", "envcrlf"]),
    S("generic-password-env", "assign", lambda g: literal(g, g.int(12, 20), "!*-_+=~"),
      var="LDAP_BIND_PASSWORD", styles=["env", "ini", "yaml"]),
    S("generic-bearer-token", "custom", None),
    S("generic-basic-auth", "custom", None),
    S("generic-token-auth", "custom", None),
    S("generic-authorization-header", "custom", None),
    S("generic-api-key-header", "custom", None),
    S("generic-url-query-secret", "custom", None),
    S("generic-session-cookie", "custom", None),
]


def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def wrap(text, width):
    return [text[i:i + width] for i in range(0, len(text), width)]


def pem_block(g):
    kind, size = g.pick([("RSA PRIVATE KEY", (1100, 1250)), ("PRIVATE KEY", (1150, 1300)),
                         ("EC PRIVATE KEY", (118, 124))])
    n = g.int(*size)
    der = bytes([0x30, 0x82]) + (n - 4).to_bytes(2, "big") + g.bytes(n - 4)
    return ["-----BEGIN %s-----" % kind] + wrap(b64_of(der), 64) + ["-----END %s-----" % kind]


def openssh_block(g):
    raw = b"openssh-key-v1\0" + g.bytes(g.int(380, 1800))
    return (["-----BEGIN OPENSSH PRIVATE KEY-----"] + wrap(b64_of(raw), 70) +
            ["-----END OPENSSH PRIVATE KEY-----"])


def pgp_block(g):
    raw = bytes([0x95]) + g.bytes(g.int(900, 1800))
    crc = base64.b64encode(crc24(raw).to_bytes(3, "big")).decode()
    return (["-----BEGIN PGP PRIVATE KEY BLOCK-----", "Comment: exported %d" % g.int(10**7, 10**8), ""]
            + wrap(b64_of(raw), 64) + ["=" + crc, "-----END PGP PRIVATE KEY BLOCK-----"])


def putty_block(g):
    v = g.pick([2, 3])
    lines = ["PuTTY-User-Key-File-%d: ssh-rsa" % v, "Encryption: none",
             "Comment: rsa-key-%d" % g.int(20200101, 20251231)]
    pub = wrap(b64_of(b"\0\0\0\x07ssh-rsa" + g.bytes(g.int(260, 270))), 64)
    priv = wrap(b64_of(g.bytes(g.int(640, 700))), 64)
    lines += ["Public-Lines: %d" % len(pub)] + pub + ["Private-Lines: %d" % len(priv)] + priv
    lines.append("Private-MAC: " + g.hex(64 if v == 3 else 40))
    return lines


def multiline_sample(block, ext, before=(), after=(), indent=""):
    lines = list(before) + [indent + l if l else l for l in block] + list(after)
    secret = "\n".join(lines[len(before):len(before) + len(block)])
    return ext, lines, len(before), secret.lstrip(" ")


URL_SCHEMES = {
    "postgres-url-password": [("postgres", "db.internal:5432/app"), ("postgresql+psycopg2", "pg-%s.corp.io/main")],
    "mysql-url-password": [("mysql", "db.internal:3306/app"), ("mysql+pymysql", "mysql-%s.corp.io/shop"),
                           ("mariadb", "10.0.3.17:3306/app")],
    "mongodb-url-password": [("mongodb+srv", "cluster0.%s.mongodb.net/app?retryWrites=true"),
                             ("mongodb", "mongo-0.%s.svc:27017/admin")],
    "redis-url-password": [("redis", "cache.internal:6379/0"), ("rediss", "redis-%s.cache.corp.io:6380")],
    "amqp-url-password": [("amqp", "mq.internal:5672/%s"), ("amqps", "rabbit-%s.corp.io/vhost")],
    "mssql-url-password": [("mssql+pyodbc", "sql-%s.corp.io/app?driver=ODBC+Driver+18"),
                           ("sqlserver", "10.1.2.3:1433/app")],
    "ldap-url-password": [("ldaps", "ldap.%s.corp.io:636"), ("ldap", "dc1.corp.io:389")],
    "ftp-url-password": [("ftp", "files.%s.io/upload"), ("sftp", "sftp.corp.io:22/in")],
    "smtp-url-password": [("smtp", "smtp.%s.io:587"), ("smtps", "mail.corp.io:465")],
    "generic-url-password": [("https", "proxy.%s.io:3128"), ("http", "10.0.0.5:3128"),
                             ("git+https", "registry.%s.io/pkg.git")],
}

URL_LINES = [
    ("env", ".env", lambda u: "DATABASE_URL=%s" % u),
    ("python", ".py", lambda u: "engine = connect(\"%s\", pool_size=5)" % u),
    ("yaml", ".yaml", lambda u: "  url: %s" % u),
    ("log", ".log", lambda u: "2024-05-02 10:11:12 ERROR connection failed url=%s retrying" % u),
]


def url_sample(g, rule):
    scheme, host = g.pick(URL_SCHEMES[rule])
    host = host.replace("%s", g.clean(LOWER, 6))
    user = g.pick(["", "svc", "app_" + g.clean(LOWER, 4), "deploy", "mq-user"])
    if rule == "redis-url-password" and g.int(0, 1) == 0:
        user = ""
    pw = password(g)
    _, ext, line = g.pick(URL_LINES)
    return ext, [line("%s://%s:%s@%s" % (scheme, user, pw, host))], 0, pw


def custom_samples_new(g, rule):
    if rule in URL_SCHEMES:
        return url_sample(g, rule)
    if rule == "curl-user-password":
        pw = password(g)
        user = g.clean(LOWER, 6)
        return g.pick([
            (".sh", ["curl -u %s:%s https://api.%s.io/v1/export" % (user, pw, g.clean(LOWER, 6))], 0, pw),
            (".txt", ["$ curl -s --user %s:%s https://ci.%s.io/job/build" % (user, pw, g.clean(LOWER, 5))],
             0, pw),
        ])
    if rule == "zsh-history-secret-export":
        val = literal(g, g.int(20, 40))
        stamp = digits_n(g, 10, 10)
        return ".history", [": %s:0;cd ~/src" % stamp,
                            ": %s:%d;export %s_API_KEY=%s" % (stamp, g.int(0, 9), g.clean(UPPER, 6), val)], 1, val
    if rule == "jdbc-url-password":
        pw = password(g)
        return g.pick([
            (".properties", ["spring.datasource.url=jdbc:sqlserver://sql.corp.io:1433;databaseName=app;"
                             "user=svc;password=%s;encrypt=true" % pw], 0, pw),
            (".java", ["    String url = \"jdbc:postgresql://db.corp.io:5432/app?user=app&password=%s&ssl=true\";"
                       % pw], 0, pw),
        ])
    if rule == "twilio-credentials-pair":
        # On one line with the API host: the engine runs a rule only on the line of its keyword
        # (`twilio`), so a curl split with `\` after the URL is a known miss (docs/accuracy.md).
        tok = g.hex(32)
        pair = "AC%s:%s" % (g.hex(32), tok)
        return g.pick([
            (".sh", ["curl -u %s https://api.twilio.com/2010-04-01/Accounts.json" % pair], 0, tok),
            (".py", ["resp = requests.get(TWILIO_URL, auth=tuple(\"%s\".split(\":\")))" % pair], 0, tok),
        ])
    if rule == "sentry-dsn-secret":
        sec = g.hex(32)
        dsn = "https://%s:%s@o%s.ingest.sentry.io/%s" % (g.hex(32), sec, digits_n(g, 6, 6),
                                                        digits_n(g, 7, 7))
        return g.pick([(".env", ["SENTRY_DSN=" + dsn], 0, sec),
                       (".py", ["sentry_sdk.init(dsn=\"%s\", traces_sample_rate=0.2)" % dsn], 0, sec)])
    if rule == "private-key-pem":
        block = pem_block(g)
        return g.pick([
            multiline_sample(block, ".pem"),
            multiline_sample(block, ".yaml", ["tls:", "  key: |"], ["  cert_file: /etc/tls/cert.pem"], "    "),
        ])
    if rule == "private-key-openssh":
        return multiline_sample(openssh_block(g), ".key")
    if rule == "private-key-pgp":
        return multiline_sample(pgp_block(g), ".asc")
    if rule == "private-key-putty":
        return multiline_sample(putty_block(g), ".ppk")
    if rule == "npmrc-auth-token":
        tok = g.b64url(g.int(36, 64))
        return ".npmrc", ["@corp:registry=https://npm.pkg.corp.io/",
                          "//npm.pkg.corp.io/:_authToken=%s" % tok, "always-auth=true"], 1, tok
    if rule == "npmrc-auth":
        tok = b64_of(("deploy:%s" % password(g)).encode())
        return ".npmrc", ["registry=https://npm.corp.io/", "_auth=%s" % tok, "always-auth=true"], 1, tok
    if rule == "pypirc-password":
        pw = password(g)
        return ".pypirc", ["[distutils]", "index-servers =", "    corp", "", "[corp]",
                           "repository = https://pypi.corp.io/simple/", "username = deploy",
                           "password = %s" % pw], 7, pw
    if rule == "netrc-password":
        pw = password(g)
        return ".netrc", ["machine git.%s.io" % g.clean(LOWER, 6), "  login ci-bot",
                          "  password %s" % pw], 2, pw
    if rule == "docker-config-auth":
        tok = b64_of(("builder:%s" % password(g)).encode())
        return ".json", ["{", "  \"auths\": {", "    \"registry.%s.io\": {" % g.clean(LOWER, 6),
                         "      \"auth\": \"%s\"" % tok, "    }", "  }", "}"], 3, tok
    if rule == "docker-config-identity-token":
        tok = g.b64url(g.int(60, 120)) + "." + g.b64url(g.int(40, 80))
        return ".json", ["{", "  \"auths\": {", "    \"corp%s.azurecr.io\": {" % g.clean(LOWER, 4),
                         "      \"identitytoken\": \"%s\"" % tok, "    }", "  }", "}"], 3, tok
    if rule == "git-credentials":
        tok = g.alnum(40)
        host = g.pick(["github.com", "gitlab.com", "bitbucket.org", "git.corp.io"])
        return ".git-credentials", ["https://ci-bot:%s@%s" % (tok, host)], 0, tok
    if rule == "htpasswd-bcrypt":
        h = "$2%s$%02d$%s" % (g.pick("aby"), g.pick([10, 11, 12]), g.clean(ALNUM + "./", 53))
        return ".htpasswd", ["ops:%s" % h], 0, h
    if rule == "maven-settings-password":
        pw = password(g)
        return ".xml", ["<settings>", "  <servers>", "    <server>", "      <id>corp-releases</id>",
                        "      <username>deployer</username>", "      <password>%s</password>" % pw,
                        "    </server>", "  </servers>", "</settings>"], 5, pw
    if rule == "generic-bearer-token":
        tok = literal(g, g.int(32, 48), "-_.")
        return g.pick([
            (".sh", ["curl -sS -H \"Authorization: Bearer %s\" https://internal.corp.io/api/v1/jobs" % tok], 0, tok),
            (".http", ["GET /v1/reports HTTP/1.1", "Host: api.corp.io", "Authorization: Bearer %s" % tok], 2, tok),
        ])
    if rule == "generic-basic-auth":
        tok = b64_of(("svc-%s:%s" % (g.clean(LOWER, 4), password(g))).encode())
        return ".http", ["POST /upload HTTP/1.1", "Host: files.corp.io", "Authorization: Basic %s" % tok], 2, tok
    if rule == "generic-token-auth":
        tok = g.hex(40)
        return ".sh", ["curl -H \"Authorization: Token %s\" https://ci.corp.io/api/builds" % tok], 0, tok
    if rule == "generic-authorization-header":
        tok = literal(g, g.int(32, 48))
        return ".log", ["2024-11-05T09:14:02Z DEBUG outgoing headers={\"authorization\": \"%s\", "
                        "\"accept\": \"application/json\"}" % tok], 0, tok
    if rule == "generic-api-key-header":
        tok = literal(g, g.int(32, 40))
        return ".sh", ["curl -sS https://api.%s.io/v2/items -H 'x-api-key: %s'" % (g.clean(LOWER, 6), tok)], 0, tok
    if rule == "generic-url-query-secret":
        tok = literal(g, g.int(28, 40))
        return ".txt", ["GET https://api.%s.io/v1/report?format=csv&api_key=%s HTTP/1.1" % (
            g.clean(LOWER, 6), tok)], 0, tok
    if rule == "generic-session-cookie":
        tok = g.clean(LOWER + DIGITS, 32)
        return ".txt", ["Cookie: theme=dark; sessionid=%s; lang=en" % tok], 0, tok
    raise ValueError(rule)


# --------------------------------------------------------------------------------------------
# Settings: how a key sits in a file. Each returns (extension, lines, index of the key's line).
# --------------------------------------------------------------------------------------------

def camel(var):
    parts = var.lower().split("_")
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


ASSIGN_STYLES = {
    "env": (".env", lambda v, k: "%s=%s" % (v, k)),
    "shell": (".sh", lambda v, k: "export %s=\"%s\"" % (v, k)),
    "python": (".py", lambda v, k: "%s = \"%s\"" % (v.lower(), k)),
    "pycall": (".py", lambda v, k: "client = Client(%s=\"%s\", timeout=30)" % (v.lower(), k)),
    "js": (".js", lambda v, k: "const %s = '%s';" % (camel(v), k)),
    "ts": (".ts", lambda v, k: "  %s: \"%s\"," % (camel(v), k)),
    "go": (".go", lambda v, k: "\t%s := \"%s\"" % (camel(v), k)),
    "rust": (".rs", lambda v, k: "    let %s = \"%s\";" % (v.lower(), k)),
    "java": (".java", lambda v, k: "    private static final String %s = \"%s\";" % (v, k)),
    "yaml": (".yaml", lambda v, k: "  %s: %s" % (v.lower(), k)),
    "json": (".json", lambda v, k: "  \"%s\": \"%s\"," % (v.lower(), k)),
    "ini": (".ini", lambda v, k: "%s = %s" % (v.lower(), k)),
    "docker": ("Dockerfile", lambda v, k: "ENV %s=%s" % (v, k)),
    "pyenviron": (".py", lambda v, k: "os.environ[\"%s\"] = \"%s\"" % (v, k)),
    "jsoncompact": (".json", lambda v, k: "{\"%s\":\"%s\",\"retries\":3}" % (camel(v), k)),
    "xml": (".config", lambda v, k: "    <add key=\"%s\" value=\"%s\" />" % (v, k)),
    "envcrlf": (".env", lambda v, k: "%s='%s'\r" % (v, k)),
    "toml": (".toml", lambda v, k: "%s = \"%s\"  # rotated 2024-10" % (v.lower(), k)),
}

# Settings that need no variable name: for self-identifying keys only.
FREE_STYLES = {
    "curl": (".sh", lambda k: "curl -sS -H \"Authorization: Bearer %s\" https://api.service.io/v1/me" % k),
    "log": (".log", lambda k: "2024-11-05T09:14:%02d.512Z INFO  http.client request "
            "method=POST url=/v1/jobs headers={\"authorization\": \"Bearer %s\"} status=200" % (
                len(k) % 60, k)),
    "url": (".txt", lambda k: "https://hooks.internal.io/deliver?token=%s&ref=main" % k),
    "markdown": (".md", lambda k: "Our CI token is `%s` (rotate quarterly)." % k),
}

FILLER = [
    "import os",
    "import logging",
    "log = logging.getLogger(__name__)",
    "# retry with exponential backoff, capped at 30 s",
    "TIMEOUT_SECONDS = 30",
    "def handler(event, context):",
    "    return {\"statusCode\": 200}",
    "// TODO: move this to the vault once the migration is done",
    "build_sha = \"{sha}\"",
    "request_id = \"{uuid}\"",
    "checksum = \"sha256:{sha256}\"",
    "version: 2.4.1",
    "region = \"eu-west-1\"",
    "retries: 3",
    "",
]


def filler(g, n):
    out = []
    for _ in range(n):
        line = g.pick(FILLER)
        out.append(line.replace("{sha}", g.hex(40)).replace("{uuid}", g.uuid4())
                   .replace("{sha256}", g.hex(64)))
    return out


def custom_samples(g, rule):
    """Returns (extension, lines, key line index, secret) for the custom specs."""
    if rule == "gcp-service-account-key":
        project = "svc-" + g.clean(LOWER + DIGITS, 6)
        pem = pem_private_key(g, "\\n")
        doc = [
            "{",
            "  \"type\": \"service_account\",",
            "  \"project_id\": \"%s\"," % project,
            "  \"private_key_id\": \"%s\"," % g.hex(40),
            "  \"private_key\": \"%s\"," % pem,
            "  \"client_email\": \"deployer@%s.iam.gserviceaccount.com\"," % project,
            "  \"client_id\": \"%d\"," % g.int(10**20, 10**21 - 1),
            "  \"token_uri\": \"https://oauth2.googleapis.com/token\"",
            "}",
        ]
        return ".json", doc, 4, pem.removesuffix("\\n")
    if rule == "azure-storage-account-key":
        key = b64_of(g.bytes(64))
        line = ("AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=https;AccountName=%s;"
                "AccountKey=%s;EndpointSuffix=core.windows.net\"" % (g.clean(LOWER, 10), key))
        return ".env", [line], 0, key
    if rule == "azure-shared-access-key":
        key = b64_of(g.bytes(32))
        line = ("  \"ServiceBus\": \"Endpoint=sb://%s.servicebus.windows.net/;SharedAccessKeyName="
                "RootManageSharedAccessKey;SharedAccessKey=%s\"," % (g.clean(LOWER, 8), key))
        return ".json", ["{", "  \"Logging\": {\"LogLevel\": \"Information\"},", line, "}"], 2, key
    if rule == "azure-sas-token":
        sig = sas_sig(g)
        line = ("blob_url = \"https://%s.blob.core.windows.net/exports/report.csv?sv=2022-11-02&ss=b"
                "&srt=o&sp=r&se=2026-01-01T00:00:00Z&spr=https&sig=%s\"" % (g.clean(LOWER, 9), sig))
        return ".py", [line], 0, sig
    return custom_samples_new(g, rule)


def minified_line(g, keys):
    """A long minified-JS line with the keys inside object literals."""
    parts = []
    for k in keys:
        parts.append("function %s(e){return e&&e.__esModule?e:{default:e}}" % g.clean(LOWER, 2))
        parts.append("var %s={apiKey:\"%s\",retries:%d}" % (g.clean(LOWER, 1), k, g.int(1, 9)))
        parts.append("%s.prototype.%s=function(t){return this._%s(t,\"%s\")}" % (
            g.clean(UPPER, 1), g.clean(LOWER, 5), g.clean(LOWER, 3), g.hex(8)))
    return ";".join(parts) + ";"


class Corpus:
    def __init__(self, root):
        self.root = root
        self.labels = []

    def write(self, rel, lines, planted, setting=None):
        """planted: list of (line index, rule, secret); setting names how the keys sit."""
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        for idx, rule, secret in planted:
            # A multi-line secret (a private key block) starts on its label's line.
            assert secret.split("\n")[0] in lines[idx], (rel, rule)
            assert secret in "\n".join(lines[idx:]), (rel, rule)
            self.labels.append({"path": rel, "line": idx + 1, "rule": rule, "setting": setting,
                                "secret_sha256": hashlib.sha256(secret.encode()).hexdigest()})

    def finish(self):
        self.labels.sort(key=lambda l: (l["path"], l["line"], l["rule"]))
        with open(os.path.join(self.root, "labels.jsonl"), "w", newline="\n") as f:
            for l in self.labels:
                f.write(json.dumps(l, sort_keys=True) + "\n")


# Files whose format has no room for the source-code filler lines.
NO_FILLER = {".json", ".pem", ".key", ".asc", ".ppk", ".npmrc", ".pypirc", ".netrc",
             ".git-credentials", ".htpasswd", ".xml", ".http", ".properties"}


def make_key(g, spec):
    """A key from the spec's format, drawn again when the whole key spells a placeholder
    (`AAAA` + `AA...` is a run of six, a prefix plus a random part can form a sequence)."""
    while True:
        key = spec["make"](g)
        if not looks_like_placeholder(key):
            return key


def plant_positives(g, c):
    prefix_by_style = {}
    for spec in SPECS:
        rule, kind = spec["rule"], spec["kind"]
        for n in range(SAMPLES_PER_SPEC):
            if kind == "prefix":
                key = make_key(g, spec)
                style = g.pick(sorted(ASSIGN_STYLES) + sorted(FREE_STYLES))
                prefix_by_style.setdefault(style, []).append((rule, key))
            elif kind == "custom":
                while True:
                    ext, lines, idx, key = custom_samples(g, rule)
                    if not looks_like_placeholder(key):
                        break
                head = [] if ext in NO_FILLER else filler(g, g.int(1, 4))
                c.write("positive/custom/%s-%d%s" % (rule, n, ext), head + lines,
                        [(len(head) + idx, rule, key)], "custom")
            else:
                key = make_key(g, spec)
                styles = spec["styles"] or sorted(ASSIGN_STYLES)
                style = g.pick(styles)
                ext, fmt = ASSIGN_STYLES[style]
                lines = filler(g, g.int(1, 5))
                if spec["ctx"] and kind == "context":
                    lines.append(spec["ctx"])
                    lines += filler(g, g.int(0, 3))
                idx = len(lines)
                lines.append(fmt(spec["var"], key))
                lines += filler(g, g.int(1, 4))
                name = ext if ext.startswith(".") else "." + ext.lower()
                c.write("positive/%s/%s-%d%s" % (kind, rule, n, name), lines, [(idx, rule, key)],
                        style)
    # Self-identifying keys: many per file, one per line, with filler between.
    for style in sorted(prefix_by_style):
        items = prefix_by_style[style]
        for chunk in range(0, len(items), 40):
            lines, planted = [], []
            for rule, key in items[chunk:chunk + 40]:
                lines += filler(g, g.int(0, 2))
                planted.append((len(lines), rule, key))
                if style in ASSIGN_STYLES:
                    ext, fmt = ASSIGN_STYLES[style]
                    var = rule.upper().replace("-", "_")
                    lines.append(fmt(var, key))
                else:
                    ext, fmt = FREE_STYLES[style]
                    lines.append(fmt(key))
            name = ext if ext.startswith(".") else "." + ext.lower()
            c.write("positive/prefix/%s-%d%s" % (style, chunk // 40, name), lines, planted, style)
    # Minified bundles: several self-identifying keys on one very long line.
    pool = [s for s in SPECS if s["kind"] == "prefix"]
    for n in range(6):
        picks = [pool[(n * 7 + i * 13) % len(pool)] for i in range(3)]
        keys = [(s["rule"], make_key(g, s)) for s in picks]
        line = minified_line(g, [k for _, k in keys])
        c.write("positive/minified/bundle-%d.min.js" % n, ["/*! app v3.%d.0 */" % n, line],
                [(1, r, k) for r, k in keys], "minified")


# --------------------------------------------------------------------------------------------
# Hard negatives (item 4): nothing in these files is a credential.
# --------------------------------------------------------------------------------------------

PLACEHOLDER_VALUES = [
    "sk-...xxxx", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk-proj-...",
    "sk-ant-api03-...", "<your-api-key>", "your_api_key_here", "${OPENAI_API_KEY}",
    "{{ secrets.GITHUB_TOKEN }}", "$(cat /run/secrets/token)", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "AKIAXXXXXXXXXXXXXXXX", "sk_live_****************************", "xoxb-your-token",
    "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "glpat-xxxxxxxxxxxxxxxxxxxx", "REDACTED",
    "[FILTERED]", "changeme", "<token>", "sk-********************************",
    "AIzaSy-your-google-api-key-goes-here", "npm_" + "x" * 36, "dop_v1_" + "0" * 64,
    "pplx-" + "x" * 48, "sk-or-v1-...", "xai-...", "%s", "insert-key-here",
    "postgres://user:password@localhost:5432/app", "redis://:${REDIS_PASSWORD}@redis:6379/0",
    "https://USERNAME:PASSWORD@git.example.com/org/repo.git", "xoxb-your-bot-token",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----", "SG.xxxxx.yyyyy",
]
VAR_NAMES = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
             "STRIPE_SECRET_KEY", "DEEPSEEK_API_KEY", "HF_TOKEN", "NPM_TOKEN", "API_KEY",
             "MISTRAL_API_KEY", "CLOUDFLARE_API_TOKEN", "DATABASE_PASSWORD"]


def neg_readme(g, lines_wanted):
    out = ["# Getting started", "", "Set your credentials before running the examples:", ""]
    while len(out) < lines_wanted:
        var, val = g.pick(VAR_NAMES), g.pick(PLACEHOLDER_VALUES)
        out.append(g.pick([
            "    export %s=%s" % (var, val),
            "%s=%s" % (var, val),
            "| `%s` | `%s` | required |" % (var, val),
            "client = Client(api_key=\"%s\")" % val,
            "curl -H \"Authorization: Bearer %s\" https://api.service.io/v1/models" % val,
            "Keys look like `%s` and are shown only once." % val,
            "",
        ]))
    return out


def neg_package_lock(g, entries):
    out = ["{", "  \"name\": \"web\",", "  \"lockfileVersion\": 3,", "  \"packages\": {"]
    for i in range(entries):
        name = g.clean(LOWER, g.int(3, 10)) + g.pick(["", "-js", "-core", "-utils"])
        ver = "%d.%d.%d" % (g.int(0, 9), g.int(0, 30), g.int(0, 40))
        out += [
            "    \"node_modules/%s\": {" % name,
            "      \"version\": \"%s\"," % ver,
            "      \"resolved\": \"https://registry.npmjs.org/%s/-/%s-%s.tgz\"," % (name, name, ver),
            "      \"integrity\": \"sha512-%s\"," % b64_of(g.bytes(64)),
            "      \"license\": \"MIT\"",
            "    }%s" % ("," if i + 1 < entries else ""),
        ]
    return out + ["  }", "}"]


def neg_yarn_lock(g, entries):
    out = ["# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.", "# yarn lockfile v1", ""]
    for _ in range(entries):
        name = g.clean(LOWER, g.int(3, 10))
        ver = "%d.%d.%d" % (g.int(0, 9), g.int(0, 30), g.int(0, 40))
        out += ["%s@^%s:" % (name, ver), "  version \"%s\"" % ver,
                "  resolved \"https://registry.yarnpkg.com/%s/-/%s-%s.tgz#%s\"" % (name, name, ver, g.hex(40)),
                "  integrity sha512-%s" % b64_of(g.bytes(64)), ""]
    return out


def neg_cargo_lock(g, entries):
    out = ["# This file is automatically @generated by Cargo.", "version = 3", ""]
    for _ in range(entries):
        out += ["[[package]]", "name = \"%s\"" % g.clean(LOWER + "-", g.int(4, 12)).strip("-"),
                "version = \"%d.%d.%d\"" % (g.int(0, 3), g.int(0, 40), g.int(0, 20)),
                "source = \"registry+https://github.com/rust-lang/crates.io-index\"",
                "checksum = \"%s\"" % g.hex(64), ""]
    return out


def neg_go_sum(g, entries):
    out = []
    for _ in range(entries):
        mod = "github.com/%s/%s" % (g.clean(LOWER, 6), g.clean(LOWER, 8))
        ver = "v%d.%d.%d" % (g.int(0, 2), g.int(0, 30), g.int(0, 20))
        out.append("%s %s h1:%s" % (mod, ver, b64_of(g.bytes(32))))
        out.append("%s %s/go.mod h1:%s" % (mod, ver, b64_of(g.bytes(32))))
    return out


def neg_git_log(g, commits):
    out = []
    for _ in range(commits):
        out += ["commit %s" % g.hex(40), "Merge: %s %s" % (g.hex(7), g.hex(7)),
                "Author: Dev %s <dev@corp.io>" % g.clean(UPPER, 1),
                "Date:   Tue Nov 5 09:%02d:11 2024 +0100" % g.int(0, 59), "",
                "    Bump deps; see %s" % g.hex(12), "",
                "diff --git a/src/lib.rs b/src/lib.rs", "index %s..%s 100644" % (g.hex(12), g.hex(12)), ""]
    return out


def neg_uuid_log(g, lines):
    out = []
    for i in range(lines):
        out.append("2024-11-05T09:%02d:%02d.%03dZ level=info request_id=%s trace_id=%s span_id=%s "
                   "session=%s user=%s msg=\"GET /api/v2/items/%s 200\"" % (
                       i // 60 % 60, i % 60, g.int(0, 999), g.uuid4(), g.hex(32), g.hex(16),
                       g.uuid4(), g.uuid4(), g.uuid4()))
    return out


def png_data_uri(g):
    raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + g.bytes(g.int(300, 3000))
    return "data:image/png;base64," + b64_of(raw)


def neg_html_images(g, images):
    out = ["<!doctype html>", "<html><head><style>"]
    for i in range(images):
        out.append(".icon-%d{background-image:url(%s)}" % (i, png_data_uri(g)))
    out.append("</style></head><body>")
    for i in range(images):
        out.append("<img alt=\"logo %d\" src=\"%s\">" % (i, png_data_uri(g)))
    return out + ["</body></html>"]


def neg_binary_base64(g, blobs):
    """Base64 of structured binary (font tables, vertex buffers, wasm): small little-endian
    integers give long runs of `A`, `AAAA`, `EAAA`, `AQAA`... that share prefixes with keys."""
    out = ["export const assets = {"]
    for i in range(blobs):
        words = []
        for _ in range(g.int(60, 400)):
            width = g.pick([2, 4])
            words.append(g.int(0, g.pick([16, 255, 4096, 65535])).to_bytes(width, "little"))
        raw = b"".join(words)
        kind = g.pick(["font/woff2", "application/wasm", "application/octet-stream"])
        out.append("  blob%d: \"data:%s;base64,%s\"," % (i, kind, b64_of(raw)))
    return out + ["};"]


def neg_test_vectors(g, count):
    out = ["# AES-256-GCM / HMAC-SHA256 known-answer tests", ""]
    for i in range(count):
        out += ["COUNT = %d" % i, "Key = %s" % g.hex(64), "IV = %s" % g.hex(24),
                "PT = %s" % g.hex(64), "AAD = %s" % g.hex(32), "CT = %s" % g.hex(64),
                "Tag = %s" % g.hex(32), "HMAC = %s" % g.hex(64), ""]
    return out


def neg_checksums(g, count):
    out = []
    for _ in range(count):
        name = g.clean(LOWER, 8) + g.pick([".tar.gz", ".zip", ".whl", ".deb"])
        out.append(g.pick(["%s  %s" % (g.hex(64), name), "%s  %s" % (g.hex(32), name),
                           "SHA1 (%s) = %s" % (name, g.hex(40)),
                           "%s --hash=sha256:%s" % (name, g.hex(64))]))
    return out


def neg_minified(g, statements):
    parts = []
    for _ in range(statements):
        parts.append(g.pick([
            "var %s=\"%s\"" % (g.clean(LOWER, 1), g.b64url(g.int(20, 60))),
            "%s.exports={id:\"%s\",hash:\"%s\"}" % (g.clean(LOWER, 1), g.uuid4(), g.hex(20)),
            "function %s(%s){return %s.charCodeAt(%d)^%d}" % (g.clean(LOWER, 2), "t", "t", g.int(0, 9), g.int(0, 255)),
            "i18n[\"%s\"]=\"%s\"" % (g.hex(8), g.clean(LOWER + " ", 24)),
            "sourceMappingURL=data:application/json;base64,%s" % b64_of(g.bytes(120)),
        ]))
    return [";".join(parts) + ";"]


def near_miss(g):
    """Key-shaped strings that break the format: wrong checksum, length or alphabet."""
    tok = crc_token(g, g.pick(["ghp_", "gho_", "npm_"]))
    bad = tok[:-1] + ("A" if tok[-1] != "A" else "B")
    return g.pick([
        bad,
        "AKIA" + g.clean(UPPER + "234567", 15),
        "AKIA" + g.clean(LOWER + "234567", 16),
        "sk-ant-api03-" + g.b64url(93) + "BB",
        "sk-ant-api03-" + g.b64url(60) + "AA",
        "AIza" + g.clean(B64URL, 33) + g.alnum(1),
        "xai-" + g.alnum(60),
        "pplx-" + g.alnum(40),
        "glpat-" + g.alnum(14),
        "dop_v1_" + g.hex(60),
        "shpat_" + g.clean("ghijklmnopqrstuvwxyz", 32),
        "hf_" + g.clean(LOWER + DIGITS, 33) + g.pick(DIGITS),  # a digit: letters only is valid
        "sk-or-v1-" + g.hex(40),
        "lsv2_pt_" + g.hex(32),
        "sk-proj-" + g.b64url(120),
        "rubygems_" + g.hex(40),
        "sk-" + g.hex(24),
        "whsec_" + g.alnum(16),
        "SG." + g.b64url(20) + "." + g.b64url(43),
        "NRAK-" + g.clean(UPPER + DIGITS, 20),
        "glsa_" + g.alnum(32) + "_" + g.hex(6),
        "sntryu_" + g.hex(60),
        "dt0c01." + g.clean(UPPER + DIGITS, 24) + "." + g.clean(UPPER + DIGITS, 60),
        "ntn_" + g.s(DIGITS, 11) + g.alnum(30),
        "figd_" + g.b64url(30),
    ])


def neg_near_misses(g, count):
    out = []
    for _ in range(count):
        k = near_miss(g)
        # Where near-misses really sit: validator tests and format docs. Not in `token = "..."`
        # assignments: a random value assigned to a secret-named variable is rightly reported by
        # the generic rules whatever its shape.
        out.append(g.pick(["    assert!(!looks_valid(\"%s\"));" % k, "%s" % k,
                           "| rejected | `%s` | wrong length, alphabet or checksum |" % k,
                           "    (\"%s\", false)," % k]))
    return out


NEGATIVE_WRITERS = [
    ("README.md", neg_readme, 300),
    ("package-lock.json", neg_package_lock, 600),
    ("yarn.lock", neg_yarn_lock, 400),
    ("Cargo.lock", neg_cargo_lock, 400),
    ("go.sum", neg_go_sum, 400),
    ("git-log.txt", neg_git_log, 300),
    ("service.log", neg_uuid_log, 1200),
    ("icons.html", neg_html_images, 30),
    ("vectors.rsp", neg_test_vectors, 200),
    ("assets.js", neg_binary_base64, 120),
    ("SHA256SUMS", neg_checksums, 600),
    ("vendor.min.js", neg_minified, 3000),
    ("near-misses.txt", neg_near_misses, 600),
]


def plant_negatives(g, c, root_rel="negative", scale=1.0, suffix=""):
    for name, writer, size in NEGATIVE_WRITERS:
        lines = writer(g, max(1, int(size * scale)))
        c.write("%s/%s%s" % (root_rel, suffix, name), lines, [])


def write_corpus(out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    g = Gen(SEED)
    c = Corpus(out)
    plant_positives(g, c)
    plant_negatives(g, c)
    c.finish()
    with open(os.path.join(out, "README.md"), "w", newline="\n") as f:
        f.write("Generated by `python3 scripts/gen_accuracy.py`; do not edit by hand.\n"
                "Every key here is fake. See docs/accuracy.md.\n")
    return len(c.labels)


def write_bulk(out, mb):
    """Only hard negatives, at least `mb` MB, for the per-10-MB precision figure."""
    os.makedirs(out, exist_ok=True)
    g = Gen(SEED ^ 0xB0B)
    c = Corpus(out)
    total, part = 0, 0
    while total < mb * 1_000_000:
        plant_negatives(g, c, root_rel="part-%03d" % part, scale=2.0)
        part += 1
        total = sum(os.path.getsize(os.path.join(d, f))
                    for d, _, fs in os.walk(out) for f in fs)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "fixtures", "accuracy"))
    ap.add_argument("--bulk", metavar="DIR", help="write only hard negatives into DIR")
    ap.add_argument("--mb", type=float, default=12.0, help="size of --bulk output in MB")
    a = ap.parse_args()
    if a.bulk:
        total = write_bulk(a.bulk, a.mb)
        print("wrote %.1f MB of hard negatives to %s" % (total / 1e6, a.bulk))
    else:
        n = write_corpus(os.path.normpath(a.out))
        print("wrote %d labelled keys to %s" % (n, os.path.normpath(a.out)))


if __name__ == "__main__":
    sys.exit(main())
