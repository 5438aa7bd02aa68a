"""fleetcast's HTTP API: the Powertools resolver in :mod:`fleetcast.api.http` (``app``), served by the
api Lambda behind API Gateway and locally by ``fleetcast serve`` (:mod:`fleetcast.api.local`).

Importing this package loads nothing heavy; see :mod:`fleetcast.api.http` for the routes.
"""
