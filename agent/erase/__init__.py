"""The secure wipe engine: plan, erase, verify and certify each disk.

Overwrites run with O_DIRECT and large aligned buffers; random passes use an
AES-CTR keystream (AES-128) so verification can regenerate the exact data from its
seed. Firmware sanitize commands run through the shared command runner.
Every disk ends with a signed :class:`~agent.report.schema.ErasureRecord`.
"""
