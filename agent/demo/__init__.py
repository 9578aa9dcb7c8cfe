"""The demo station: real wipes and flashes on loop devices, a recorded laptop for the rest."""

#: the tag the demo laptop gets unless told otherwise
ASSET_TAG = "DEMO-0001"
