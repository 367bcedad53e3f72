#!/bin/sh
# A command handler: the bootstrap runs this script once per invocation with the event JSON on
# stdin. What it prints on stdout is the response; each line on stderr goes to the logs.
set -eu

event=$(cat)
# An empty event is not JSON: answer null for it rather than a broken document.
case "$event" in
  *[![:space:]]*) ;;
  *) event=null ;;
esac

echo "handler.sh: request $AWS_LAMBDA_REQUEST_ID, deadline $AWS_LAMBDA_DEADLINE_MS" >&2
# The event is JSON already, so it is embedded as it is; the request id is a UUID.
printf '{"handler":"handler.sh","requestId":"%s","event":%s}\n' "$AWS_LAMBDA_REQUEST_ID" "$event"
