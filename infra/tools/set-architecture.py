"""Sets the Architecture parameter saved in infra/samconfig.toml, so that `make deploy ARCH=...`
deploys the architecture it built, while every other saved parameter stays as it was.

SAM CLI's --parameter-overrides on the command line would replace all the saved parameters, not
add to them; editing the saved string keeps them.

Usage: python3 infra/tools/set-architecture.py ARCH [infra/samconfig.toml]
"""

import re
import sys
import tomllib


def main(arch, path):
    if arch not in ("arm64", "x86_64"):
        sys.exit(f"ARCH must be arm64 or x86_64, not {arch!r}")
    text = open(path).read()
    saved = tomllib.loads(text).get("default", {}).get("deploy", {}).get("parameters", {})
    overrides = saved.get("parameter_overrides")
    if overrides is None:
        sys.exit(f"{path} has no saved parameters yet: run `make deploy GUIDED=1` first")
    if isinstance(overrides, list):
        overrides = " ".join(overrides)
    if re.search(r'(^|\s)Architecture=', overrides):
        updated = re.sub(r'(^|\s)Architecture=("[^"]*"|\S+)', rf'\1Architecture="{arch}"', overrides)
    else:
        updated = f'{overrides} Architecture="{arch}"'.strip()
    line = re.compile(r'^parameter_overrides\s*=.*$', re.MULTILINE)
    if not line.search(text):
        sys.exit(f"{path}: parameter_overrides is not on one line; set Architecture there by hand")
    literal = '"' + updated.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = line.sub(lambda _: f"parameter_overrides = {literal}", text, count=1)
    open(path, "w").write(text)
    print(f"{path}: Architecture={arch}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "infra/samconfig.toml")
