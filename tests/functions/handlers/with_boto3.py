"""A function that uses boto3 the way a rotation function does (runs inside a worker)."""

import os

import boto3

SESSION = boto3.session.Session()


def handler(event, context):
    client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    credentials = boto3.session.Session().get_credentials()
    return {
        "boto3": boto3.__version__, "endpoint": client.meta.endpoint_url, "region": client.meta.region_name,
        "access_key": credentials.access_key if credentials else None,
        "token": credentials.token if credentials else None,
    }
