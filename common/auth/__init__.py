"""Token verification and per-RPC authorisation shared by every service.

One ``grpc.aio`` server interceptor (:mod:`common.auth.interceptor`) protects every service, so
native gRPC clients that bypass Envoy meet the same checks as browsers behind it:

* :mod:`~common.auth.verifier`: the ``authorization: Bearer <jwt>`` metadata is verified (only
  ``EdDSA``; the ``kid`` must name a key of auth_svc's JWKS; ``exp``, ``nbf``, ``iat``, ``iss``,
  ``aud`` and ``sub`` are required and checked) and revocations are applied;
* :mod:`~common.auth.keys` and :mod:`~common.auth.revocations`: where keys and revocations come
  from; :mod:`~common.auth.remote`: both fetched from auth_svc and cached (the revocation list for
  ``max_age_s``, default 5 s: the window in which a disabled user's token still works elsewhere);
* :mod:`~common.auth.access`: roles and the rule of each RPC, read from the contract's
  ``(energypulse.options.v1.access)`` option (an RPC without a rule is refused: fail closed);
* :mod:`~common.auth.caller`: the verified principal of the running RPC, for servicers;
* :mod:`~common.auth.credentials`: service accounts' tokens and the client interceptors that
  send them.
"""
