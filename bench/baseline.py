"""The Python 3 + boto3 baseline of `make bench`: each function's cold-start work, written the way
most operations Lambdas are written today, behind the same Lambda Runtime API loop.

For each function it imports boto3, reads the same configuration, builds the same clients and, for
each event, makes the same AWS (and PagerDuty) requests the Rust function makes for the bench's
event. It stops there: it is a yardstick for start-up and per-request cost, not a second
implementation (no report is analysed or rendered).

Usage: python baseline.py FUNCTION   (with AWS_LAMBDA_RUNTIME_API set, as Lambda does)
"""

import json
import os
import socket
import sys
import urllib.request

import boto3
from botocore.exceptions import ClientError

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def alarm_forwarder():
    secrets = boto3.client("secretsmanager")
    cloudwatch = boto3.client("cloudwatch")
    secret_id = os.environ["PAGERDUTY_ROUTING_KEY_SECRET"]
    url = os.environ["PAGERDUTY_EVENTS_URL"]
    region = os.environ["AWS_REGION"]

    def handle(event):
        key = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
        alarms = [json.loads(record["Sns"]["Message"]) for record in event["Records"]]
        # The late-notification check: the current state of this region's alarms.
        names = sorted({a["AlarmName"] for a in alarms if a["AlarmArn"].split(":")[3] == region})
        if names:
            cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        out = []
        for alarm in alarms:
            body = {
                "routing_key": key,
                "event_action": "trigger" if alarm["NewStateValue"] == "ALARM" else "resolve",
                "dedup_key": alarm["AlarmArn"],
                "payload": {"summary": alarm["AlarmName"], "source": alarm["Region"], "severity": "critical"},
            }
            req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                out.append(resp.status)
        return {"delivered": out}

    return handle


def health_checker():
    cloudwatch = boto3.client("cloudwatch")
    ecs = boto3.client("ecs")  # noqa: F841  built at start-up, as the Rust function does
    configured = json.loads(os.environ["HEALTH_CHECKS"])
    prefix = os.environ["ALARM_PREFIX"]
    topic = os.environ["ALARM_TOPIC_ARN"]

    def handle(event):
        checks = event.get("checks", configured)
        metrics = []
        for check in checks:
            ok = True
            try:
                socket.create_connection((check["host"], check["port"]), timeout=5).close()
            except OSError:
                ok = False
            metrics.append({"MetricName": "CheckHealthy", "Value": 1.0 if ok else 0.0,
                            "Dimensions": [{"Name": "Check", "Value": check["name"]},
                                           {"Name": "Function", "Value": "health-checker"}]})
        cloudwatch.put_metric_data(Namespace="OpsLambdas", MetricData=metrics)
        # One alarm per check, created where it is missing.
        existing = set()
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
            existing.update(a["AlarmName"] for a in page["MetricAlarms"])
        for check in checks:
            if prefix + check["name"] not in existing:
                cloudwatch.put_metric_alarm(
                    AlarmName=prefix + check["name"], Namespace="OpsLambdas", MetricName="CheckHealthy",
                    Dimensions=[{"Name": "Check", "Value": check["name"]}], Statistic="Minimum", Period=300,
                    EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="LessThanThreshold",
                    TreatMissingData="breaching", AlarmActions=[topic], OKActions=[topic])
        return {"checks": len(metrics)}

    return handle


def cost_reporter():
    ce = boto3.client("ce")
    sns = boto3.client("sns")
    cloudwatch = boto3.client("cloudwatch")
    topic = os.environ["REPORT_TOPIC_ARN"]

    def handle(event):
        import datetime
        today = datetime.date.today()
        start = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        daily = ce.get_cost_and_usage(TimePeriod={"Start": str(start), "End": str(today)}, Granularity="DAILY",
                                      Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}])
        # The trailing twelve months, for the annual projection.
        first = today.replace(day=1)
        ce.get_cost_and_usage(TimePeriod={"Start": str(first.replace(year=first.year - 1)), "End": str(first)},
                              Granularity="MONTHLY", Metrics=["UnblendedCost"])
        try:
            ce.get_cost_forecast(TimePeriod={"Start": str(today), "End": str(today + datetime.timedelta(days=20))},
                                 Metric="UNBLENDED_COST", Granularity="MONTHLY")
        except ClientError:
            pass
        sns.publish(TopicArn=topic, Subject="cost", Message="digest")
        cloudwatch.put_metric_data(Namespace="OpsLambdas", MetricData=[
            {"MetricName": "CostMonthToDate", "Value": 1.0,
             "Dimensions": [{"Name": "Function", "Value": "cost-reporter"}]}])
        # How many days the answer held: the bench checks the yardstick was fed.
        return {"read": len(daily["ResultsByTime"])}

    return handle


def secret_rotator():
    secrets = boto3.client("secretsmanager")

    # createSecret, as AWS's rotation template writes it: a new password in a pending version.
    def handle(event):
        arn, token = event["SecretId"], event["ClientRequestToken"]
        meta = secrets.describe_secret(SecretId=arn)
        if "AWSPENDING" not in meta["VersionIdsToStages"].get(token, []):
            raise ValueError("the version is not pending rotation")
        current = json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
        try:
            secrets.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            return {"step": event["Step"], "created": False}
        except secrets.exceptions.ResourceNotFoundException:
            pass
        password = secrets.get_random_password(PasswordLength=32, ExcludeCharacters=":/@\"'\\ ",
                                               RequireEachIncludedType=True)["RandomPassword"]
        current[current.get("rotate_field", "password")] = password
        secrets.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current),
                                 VersionStages=["AWSPENDING"])
        return {"step": event["Step"], "created": True}

    return handle


def cleanup_scanner():
    region = os.environ["CLEANUP_REGIONS"]
    sts = boto3.client("sts")
    ecs = boto3.client("ecs", region_name=region)
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    logs = boto3.client("logs", region_name=region)
    secrets = boto3.client("secretsmanager", region_name=region)
    sns_regional = boto3.client("sns", region_name=region)
    tagging = boto3.client("resourcegroupstaggingapi", region_name=region)
    events = boto3.client("events", region_name=region)
    scheduler = boto3.client("scheduler", region_name=region)
    sns = boto3.client("sns")
    metrics = boto3.client("cloudwatch")
    topic = os.environ["REPORT_TOPIC_ARN"]

    def handle(event):
        sts.get_caller_identity()
        ecs.list_clusters()
        ecs.list_task_definitions(status="ACTIVE")
        ecs.list_task_definitions(status="INACTIVE")
        cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm"])
        cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])
        logs.describe_log_groups()
        secrets.list_secrets()
        sns_regional.list_topics()
        sns_regional.list_subscriptions()
        tagging.get_resources(ResourceTypeFilters=["ecs:task-definition", "cloudwatch:alarm", "logs", "sns"],
                              ResourcesPerPage=100)
        # What runs task definitions on a schedule: rules on every bus, and Scheduler schedules.
        for bus in events.list_event_buses()["EventBuses"]:
            events.list_rules(EventBusName=bus["Name"])
        scheduler.list_schedules(MaxResults=100)
        sns.publish(TopicArn=topic, Subject="cleanup", Message="report")
        metrics.put_metric_data(Namespace="OpsLambdas", MetricData=[
            {"MetricName": "CleanupCandidates", "Value": 0.0,
             "Dimensions": [{"Name": "Function", "Value": "cleanup-scanner"}]}])
        return {"mode": event.get("mode", "report")}

    return handle


def main():
    handle = globals()[sys.argv[1].replace("-", "_")]()
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as resp:
            request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(resp.read())
        try:
            body, path = json.dumps(handle(event)).encode(), f"/invocation/{request_id}/response"
        except Exception as e:  # the Runtime API contract: report it and take the next event
            body, path = json.dumps({"errorMessage": str(e), "errorType": type(e).__name__}).encode(), \
                f"/invocation/{request_id}/error"
        urllib.request.urlopen(urllib.request.Request(API + path, data=body, method="POST")).read()


if __name__ == "__main__":
    main()
