"""Running gateways: one area's gateway (app + worker), a gateway process on a JSON-RPC
node, the local demo consortium and its story."""
