/* workers/devbroker/devbroker_sock.c: socket options the mock cluster
 * does not set (devbroker_sock.h). */
#include "devbroker_sock.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

int devbroker_listeners_nodelay(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }
    int set = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || fd == dirfd(d)) {
            continue;
        }
        int listening = 0;
        socklen_t len = sizeof(listening);
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) !=
                0 ||
            !listening) {
            continue; /* not a socket, or not listening */
        }
        struct sockaddr_storage addr;
        len = sizeof(addr);
        if (getsockname((int)fd, (struct sockaddr *)&addr, &len) != 0 ||
            (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
            continue;
        }
        int one = 1;
        if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
            0) {
            set++;
        }
    }
    closedir(d);
    return set;
}
