"""Seeds the stack of `make stack-up` with what `make watch` needs to run the functions.

Uses boto3 from the project's virtualenv (moto brings it) and the stack's variables
(AWS_ENDPOINT_URL and friends), so it talks to moto exactly as the functions do.
"""

import boto3

# A local-only PagerDuty integration key: the receiver accepts any 32 characters.
LOCAL_ROUTING_KEY = "localdevroutingkey00000000000001"


def put_secret(client, name, value):
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


def main():
    secrets = boto3.client("secretsmanager")
    put_secret(secrets, "ops-lambdas/pagerduty-routing", LOCAL_ROUTING_KEY)
    sns = boto3.client("sns")
    for topic in ("alarms", "reports"):
        sns.create_topic(Name=topic)
    print("seeded: secret ops-lambdas/pagerduty-routing (routing key %s), SNS topics alarms and reports" % LOCAL_ROUTING_KEY)


if __name__ == "__main__":
    main()
