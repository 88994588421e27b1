"""Run the labs on the real Linux kernel: raw sockets, network namespaces, nftables."""
