"""The resource families and what each means to every layer, in one place.

    from domain.families import TIMEOUTS
"""


# Container start/stop timeouts (seconds). Defaults per type: reference §5.5.
TIMEOUTS = {"": (600, 60), "kvm": (180, 120), "xen": (180, 120), "ovm": (180, 120), "esx": (180, 120),
            "ldom": (600, 240), "vbox": (600, 240), "openstack": (240, 120), "vcloud": (240, 120),
            "docker": (30, 60)}
