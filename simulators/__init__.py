"""CLI simulators of the hypervisors and SAN tools that cannot run here (DESIGN: real over fake).

Each simulated command is a symlink in `simulators/bin/` to the one dispatcher `_sim`, which runs
the entry point this table names for its basename. Put `simulators/bin` first on PATH (tests and
the demo do) and the drivers run their real command lines against them. State: simulators.core.

Simulators print what the real CLIs print (same columns, same words), take time to boot and shut
down, keep state across calls and nodes, and fail, hang or crash on demand (`vmsim fail`).
"""

# command basename -> "module:function" taking argv (without the command name), returning rc
COMMANDS = {
    "vmsim": "simulators.vmsim:main",
    "ssh": "simulators.guest:ssh_main",
}
