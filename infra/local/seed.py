"""Seeds the stack of `make stack-up` with what `make watch` needs to run the functions.

Uses boto3 from the project's virtualenv (moto brings it) and the stack's variables
(AWS_ENDPOINT_URL and friends), so it talks to moto exactly as the functions do.
"""

import json
import os
import subprocess

import boto3
from botocore.exceptions import ClientError

# A local-only PagerDuty integration key: the receiver accepts any 32 characters.
LOCAL_ROUTING_KEY = "localdevroutingkey00000000000001"


def put_secret(client, name, value):
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


# The demo database user and the rotation the sample events in events/secret-rotator/ belong to.
DEMO_USER = "app_demo"
DEMO_PASSWORD = "demo-password-before-rotation"
DEMO_SECRET = "ops-lambdas/demo-postgres"
DEMO_TOKEN = "c8f2ac8c-6f3c-4b5e-9a1d-0d3f6b2e7a41"


def seed_postgres(secrets):
    """A login role in the stack's PostgreSQL and a secret for it with rotation started."""
    sql = (
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN "
        "CREATE ROLE %s LOGIN PASSWORD '%s'; END IF; END $$;" % (DEMO_USER, DEMO_USER, DEMO_PASSWORD)
    )
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)
    value = {
        "engine": "postgres",
        "host": os.environ["PGHOST"],
        "port": int(os.environ["PGPORT"]),
        "username": DEMO_USER,
        "password": DEMO_PASSWORD,
        "dbname": "postgres",
        "sslmode": "verify-full",
    }
    put_secret(secrets, DEMO_SECRET, json.dumps(value))
    # moto cannot call the rotator itself: RotateSecret fails after labelling the new version
    # AWSPENDING, which is the state Secrets Manager leaves before it calls createSecret.
    try:
        secrets.rotate_secret(
            SecretId=DEMO_SECRET,
            ClientRequestToken=DEMO_TOKEN,
            RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:secret-rotator",
            RotationRules={"AutomaticallyAfterDays": 30},
        )
    except ClientError:
        pass


def main():
    secrets = boto3.client("secretsmanager")
    put_secret(secrets, "ops-lambdas/pagerduty-routing", LOCAL_ROUTING_KEY)
    seed_postgres(secrets)
    sns = boto3.client("sns")
    for topic in ("alarms", "reports"):
        sns.create_topic(Name=topic)
    print("seeded: secret ops-lambdas/pagerduty-routing (routing key %s), SNS topics alarms and reports" % LOCAL_ROUTING_KEY)
    print("seeded: PostgreSQL user %s and secret %s, rotation started with token %s" % (DEMO_USER, DEMO_SECRET, DEMO_TOKEN))


if __name__ == "__main__":
    main()
