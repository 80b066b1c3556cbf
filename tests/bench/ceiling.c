/* The ceiling of `make bench`: the least a libfcgi program can do behind
 * the same nginx. ABRI_THREADS threads (default 4) take requests under one
 * accept mutex (as libfcgi's threaded.c does), read the body, and answer a
 * small JSON body the size of abri's 201 to a send. No database, no
 * parsing: whatever abri does more is what it costs.
 *
 *   ceiling --socket PATH   (deploy/dev/stack.sh starts it as each program)
 */
#define _GNU_SOURCE
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_fd;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static const char answer[] =
    "Status: 201 Created\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
    "Content-Length: 29\r\n\r\n{\"at\":1700000000,\"id\":123456}";

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_fd, 0);
    char body[16384];
    for (;;) {
        pthread_mutex_lock(&accept_lock);
        int accepted = FCGX_Accept_r(&request);
        pthread_mutex_unlock(&accept_lock);
        if (accepted < 0) continue;
        while (FCGX_GetStr(body, sizeof body, request.in) > 0) {
        }
        FCGX_PutStr(answer, (int)sizeof answer - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!strcmp(argv[i], "--socket")) path = argv[i + 1];
    }
    if (!path) {
        fprintf(stderr, "ceiling: --socket PATH is needed\n");
        return 1;
    }
    /* libfcgi would swallow SIGTERM while accept() blocks (FIELD-NOTES):
     * one thread waits for it instead. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    FCGX_Init();

    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) return 1;
    strcpy(address.sun_path, path);
    unlink(path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    mode_t old = umask(0117);  /* 0660, as abri's programs */
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(listen_fd, 1024) != 0) {
        perror("ceiling");
        return 1;
    }
    umask(old);

    const char *threads_env = getenv("ABRI_THREADS");
    int threads = threads_env ? atoi(threads_env) : 4;
    if (threads < 1) threads = 1;
    for (int i = 0; i < threads; ++i) {
        pthread_t thread;
        pthread_create(&thread, NULL, serve, NULL);
    }
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    return 0;
}
