#!/bin/bash
B=http://127.0.0.1:8811
eval $(python3 -c "import json;d=json.load(open('/tmp/audit-ops/hono-tokens.json'));[print(f'{k}={v!r}') for k,v in d.items()]")
h(){ echo "== $1"; shift; curl -s -i "$@" | grep -iE '^HTTP/|x-keyhole|www-auth|content-type|^\{|retry' | cut -c1-300; echo; }
h "open ok" -H "X-Keyhole-Token: $t1" "$B/proxy/http/127.0.0.1:9101/x?y=%2F'a"
h "route() mount ok" -H "X-Keyhole-Token: $t1" "$B/api/v1/p/http/127.0.0.1:9101/x%2Fy?z=1"
h "missing" "$B/proxy/http/127.0.0.1:9101/x"
h "invalid" -H "Authorization: Bearer abc" "$B/proxy/http/127.0.0.1:9101/x"
h "path %2F with paths grant" -H "X-Keyhole-Token: $t2" "$B/proxy/http/127.0.0.1:9101/allowed%2F..%2F..%2Fsecret"
h "parsed (node) POST json" -X POST -H 'content-type: application/json' -d '{"a":1}' -H "X-Keyhole-Token: $t1" "$B/parsed/http/127.0.0.1:9101/echo"
h "parsedu (universal) POST json" -X POST -H 'content-type: application/json' -d '{"a":1}' -H "X-Keyhole-Token: $t1" "$B/parsedu/http/127.0.0.1:9101/echo"
h "gw ok" -H "X-Keyhole-Token: $t2" "$B/gw/allowed/z?q=1"
h "gw method_not_allowed" -X DELETE -H "X-Keyhole-Token: $t2" "$B/gw/allowed/z"
h "gw2 body cred on GET" -H "X-Keyhole-Token: $t3" "$B/gw2/x"
h "gw2 body cred on POST" -X POST -H 'content-type: application/json' -d '{"a":1}' -H "X-Keyhole-Token: $t3" "$B/gw2/x"
h "backslash target" --path-as-is -H "X-Keyhole-Token: $t1" "$B/proxy/http/127.0.0.1:9101/a\\b"
