"""A local S3 API (moto's server mode on 127.0.0.1) for the artifact-store contract suite and a
server keeping its outputs in S3.

Never the internet: boto3/s3fs find the server through ``AWS_ENDPOINT_URL``, set for this process
and inherited by the ``reefline`` subprocesses the end-to-end cases start.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "reefline-test",
    "AWS_SECRET_ACCESS_KEY": "reefline-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server that lives for the session, with the AWS variables pointing at it."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto[server] is a dev dependency: a missing one is a broken venv
        message = f"moto's S3 server is not installed ({exc}); run `make env`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {key: os.environ.get(key) for key in [*S3_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(S3_ENV, AWS_ENDPOINT_URL=endpoint)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket on the local S3 server."""
    import boto3

    name = f"reefline-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name
