"""Lambda layers: the no-Docker build of the core layer and the AWS-managed layers used by ARN."""
