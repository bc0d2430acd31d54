"""Prints infra/template.yaml as CloudFormation will see it after the SAM transform, offline.

SAM adds roles, managed policies, subscriptions and permissions of its own; the tests in
tests/tests/template.rs and tests/tests/iam_policy.rs read this output so that what they check is
what would be deployed. CodeUri is replaced by an S3 location (what `sam package` would do), and no
AWS call is made: the managed-policy loader is never needed because every policy is inline.

Usage: .venv-sam/bin/python infra/tools/sam-transform.py infra/template.yaml
"""

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


def main(path):
    with open(path) as f:
        template = yaml_parse(f.read())
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://ops-lambdas-transform/{name}.zip"
    out = transform(template, {"AWS::Region": "us-east-1"}, NoManagedPolicies())
    json.dump(out, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
