/* workers/devbroker/devbroker_sock.h: socket options that librdkafka's
 * mock cluster does not set on its brokers' sockets. */
#ifndef RV_DEVBROKER_SOCK_H
#define RV_DEVBROKER_SOCK_H

/**
 * Sets TCP_NODELAY on every listening TCP socket (IPv4 or IPv6) of this
 * process: the mock brokers', called once the cluster is up and before
 * any client connects. librdkafka's mock cluster (2.0.2) sets no socket
 * option but SO_REUSEADDR, so its replies went out under Nagle's
 * algorithm, and a produce acknowledgement written while an earlier
 * segment was unacknowledged waited for the client's delayed ACK (40 ms
 * on Linux): the sampler's and the assigner's flush took 41-49 ms at the
 * median against 0.2 ms on the idle broker (issue 8). Linux copies the
 * option to each connection accept() returns.
 * @returns the number of sockets set, -1 if /proc/self/fd cannot be read
 * Threads: call before clients connect; reads the process's descriptors.
 */
int devbroker_listeners_nodelay(void);

#endif /* RV_DEVBROKER_SOCK_H */
