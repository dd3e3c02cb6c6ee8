"""What a listening socket is really bound to, read from the kernel's tables (Linux /proc)."""


def listening_addresses(port):
    """Local addresses of the sockets listening on TCP `port`, read from /proc/net/tcp{,6}.

    IPv4 addresses come back dotted ("127.0.0.1", "0.0.0.0"); IPv6 ones as the kernel's 32 hex
    digits (all zeros = "::", every interface).
    """
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    # IPv4 entries are 4 little-endian bytes; anything else is IPv6.
                    found.add(".".join(str(b) for b in bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found
