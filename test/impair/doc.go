// Command impair is a lossy, slow Ethernet link for tests: run in a
// middle network namespace, it relays every frame between two interfaces
// (veths) over AF_PACKET sockets, delaying, dropping and reordering them
// like netem would (this kernel has no sch_netem).
//
//	impair -a ethA -b ethB -delay 25ms -loss 1 -reorder 0 -rate 100M
//
// The parameters apply to each direction, so -delay 25ms gives a 50 ms
// round trip. The two interfaces get promiscuous mode; the veths on both
// ends must have checksum and segmentation offloads off (ethtool -K DEV
// tx off tso off gso off gro off), or frames arrive as 64 KB super
// frames with unfinished checksums. On SIGINT or SIGTERM it prints one
// line of counters per direction and exits; SIGUSR1 prints them too.
package main
