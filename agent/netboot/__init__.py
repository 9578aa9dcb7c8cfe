"""Network boot: a bench server lets laptops boot the agent with no stick (see docs/netboot.md)."""
