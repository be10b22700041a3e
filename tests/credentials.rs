//! `.env` and credential files (issue: logs, .env files and the redactor, item 4): dotenv
//! syntax (`export`, quotes, comments, `${VAR}` references, a multi-line value), shell history
//! (bash, and zsh with its `: <time>:<elapsed>;` prefix), `.npmrc`, `.pypirc`, `.netrc`,
//! `.git-credentials` and Docker `config.json`. Values are fake, generated for this test.

mod support;

use support::*;

#[test]
fn dotenv_history_and_credential_files() {
    let sb = Sandbox::new();
    sb.write(
        "app/.env",
        "# settings for local development\n\
         export SERVICE_API_KEY=DVNYZV0zZYa0XiFL4C7Xu2ZxcOT2pOpu\n\
         DB_PASSWORD=\"TG3suUNwztrtPYSc\"\n\
         COPY_OF_KEY=${SERVICE_API_KEY}\n\
         EMPTY_TOKEN=\n\
         PLACEHOLDER_SECRET=your-secret-here\n\
         MULTILINE_NOTE=\"first line\n\
         second line\"\n",
    );
    sb.write(
        "home/.zsh_history",
        ": 1700000000:0;ls\n\
         : 1700000100:2;export ANALYTICS_TOKEN=w9F4ca96QEgS6r3UyeiI75Qb4Sa9q0nK\n\
         : 1700000200:0;curl -u admin:SYrrm3nqtcMYV4 https://reports.internal.example/daily\n",
    );
    sb.write(
        "home/.npmrc",
        "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=cc657742-8c2f-6d6b-c64e-5a22fac180d6\n",
    );
    sb.write(
        "home/.pypirc",
        "[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = deploy\npassword = X7iFdh5MmdDWIN86tKvy\n",
    );
    sb.write(
        "home/.netrc",
        "machine git.corp.example\n  login ci\n  password cm7L8gqLCHBKer0aF7boFJTn\n",
    );
    sb.write(
        "home/.git-credentials",
        "https://ci-bot:tmxvJm8aHGHJSLLaJ7N4jUxfzO2QH20XLrEgSAl1@git.corp.example\n",
    );
    sb.write(
        "home/.docker/config.json",
        "{\n  \"auths\": {\n    \"registry.corp.example\": {\n      \"auth\": \"YnVpbGRlcjpBWVZJaFpNNXlEb05jUWlaMHdJVzhzZTdESXYz\"\n    }\n  }\n}\n",
    );
    let (json, code, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 1);
    let got = triples(&json);
    let expected: Vec<(String, String, u64)> = [
        ("generic-secret-env", "app/.env", 2),
        ("generic-password-assignment", "app/.env", 3),
        ("docker-config-auth", "home/.docker/config.json", 4),
        ("git-credentials", "home/.git-credentials", 1),
        ("netrc-password", "home/.netrc", 3),
        ("npmrc-auth-token", "home/.npmrc", 2),
        ("pypirc-password", "home/.pypirc", 6),
        ("zsh-history-secret-export", "home/.zsh_history", 2),
        ("curl-user-password", "home/.zsh_history", 3),
    ]
    .iter()
    .map(|(r, p, l)| (r.to_string(), p.to_string(), *l))
    .collect();
    assert_eq!(got, expected);
}
