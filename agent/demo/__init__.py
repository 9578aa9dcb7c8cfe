"""The demo station: real wipes and flashes on loop devices, a recorded laptop for the rest."""
