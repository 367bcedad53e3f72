#!/bin/sh
# The shell-script variant of the secrets example. With CUSTOM_RUNTIME_CONFIG=config.config the
# bootstrap resolves config.mjs's definition for each invocation and adds its values to this
# script's environment: STAGE, API_TOKEN, RESOLVED_PASSWORD, SECRET_STRING, CREDENTIALS (JSON),
# PASSWORD, REQUEST_TOKEN (from the event), LEGACY_TOKEN (decrypted), GREETING and
# PARAMETER_API_KEY (Parameter Store, the latter decrypted). The answer says what
# arrived, never a value: whether each is set, its length in bytes, the first 8 hex digits of
# its SHA-256.
set -eu

# The event's allowed part is in REQUEST_TOKEN already; the rest is not needed.
cat >/dev/null

# describe NAME: facts about the variable NAME (a fixed name below, never input).
describe() {
  eval "is_set=\${$1+x}"
  if [ -z "$is_set" ]; then
    printf '"%s":{"present":false}' "$1"
    return
  fi
  eval "value=\$$1"
  length=$(printf '%s' "$value" | wc -c | tr -d ' ')
  digest=$(printf '%s' "$value" | sha256sum | cut -c1-8)
  printf '"%s":{"present":true,"length":%s,"sha256":"%s"}' "$1" "$length" "$digest"
}

# STAGE is validated by the definition (dev, test or prod), so it is safe to print as it is.
printf '{"handler":"handler.sh","stage":"%s","fields":{' "$STAGE"
first=1
for name in API_TOKEN RESOLVED_PASSWORD SECRET_STRING CREDENTIALS PASSWORD REQUEST_TOKEN LEGACY_TOKEN GREETING PARAMETER_API_KEY; do
  [ "$first" -eq 1 ] || printf ','
  first=0
  describe "$name"
done
printf '}}\n'
echo "handler.sh: request $AWS_LAMBDA_REQUEST_ID answered" >&2
