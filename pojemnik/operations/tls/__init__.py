"""Real certificates for the proxy (issue 18): observe the installed one, order over
HTTP-01 with a one-shot lego container when needed, install it (nginx -t, graceful
reload, a TLS handshake per name checks the served serial) and record the attempt.

`certificate.ensure` is the operation deploy and `tls.renew` call; `status.read` is what
`tls.status` shows. Helpers (`_order`, `_proxy`) are used only inside this folder.
"""
