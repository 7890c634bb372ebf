// The cgroup part of a container start on this host, alone: mkdir of one cgroup in every
// hierarchy under /sys/fs/cgroup (v1 controllers and the cgroup2 mount), the cpuset copy, a
// forked child moved into each cgroup.procs, its death, rmdir. Prints the medians over N runs.
// GAP_MS between runs shows the kernel's wait on the first migration after an idle spell (an
// RCU grace period in cgroup_threadgroup_rwsem). bench/RESULTS.md section 5 quotes it.
//
//   gcc -O2 -o /tmp/cgroup_cost bench/oci/cgroup_cost.c && /tmp/cgroup_cost [N] [GAP_MS]  (root)
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_H 32

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void put(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, text, strlen(text)) < 0) perror(path);
  close(fd);
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  double gap = argc > 2 ? atof(argv[2]) : 0;
  if (n < 1) n = 1;
  char names[MAX_H][64];
  int hs = 0;
  DIR* d = opendir("/sys/fs/cgroup");
  if (!d) {
    perror("/sys/fs/cgroup");
    return 1;
  }
  for (struct dirent* e; (e = readdir(d)) != NULL && hs < MAX_H;) {
    if (e->d_name[0] == '.' || e->d_type == DT_LNK) continue;
    char p[300];
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
    if (access(p, W_OK) == 0) snprintf(names[hs++], sizeof names[0], "%.63s", e->d_name);
  }
  closedir(d);
  double* made = calloc(n, sizeof(double));
  double* placed = calloc(n, sizeof(double));
  double* removed = calloc(n, sizeof(double));
  double* total = calloc(n, sizeof(double));
  char p[300];
  for (int i = 0; i < n; i++) {
    double t0 = now_ms();
    for (int h = 0; h < hs; h++) {
      snprintf(p, sizeof p, "/sys/fs/cgroup/%.63s/cgroup-cost", names[h]);
      mkdir(p, 0755);
    }
    put("/sys/fs/cgroup/cpuset/cgroup-cost/cpuset.cpus", "0");
    put("/sys/fs/cgroup/cpuset/cgroup-cost/cpuset.mems", "0");
    double t1 = now_ms();
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    char pid[32];
    snprintf(pid, sizeof pid, "%d", child);
    for (int h = 0; h < hs; h++) {
      snprintf(p, sizeof p, "/sys/fs/cgroup/%.63s/cgroup-cost/cgroup.procs", names[h]);
      put(p, pid);
    }
    double t2 = now_ms();
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    double t3 = now_ms();
    for (int h = 0; h < hs; h++) {
      snprintf(p, sizeof p, "/sys/fs/cgroup/%.63s/cgroup-cost", names[h]);
      rmdir(p);
    }
    double t4 = now_ms();
    made[i] = t1 - t0;
    placed[i] = t2 - t1;
    removed[i] = t4 - t3;
    total[i] = made[i] + placed[i] + removed[i];
    if (gap > 0) usleep((useconds_t)(gap * 1000));
  }
  qsort(made, n, sizeof(double), by_value);
  qsort(placed, n, sizeof(double), by_value);
  qsort(removed, n, sizeof(double), by_value);
  qsort(total, n, sizeof(double), by_value);
  printf("%d hierarchies, %d runs, %.0f ms apart: median ms mkdir %.3f, fork + place %.3f, rmdir %.3f, "
         "total %.3f (min %.3f)\n",
         hs, n, gap, made[n / 2], placed[n / 2], removed[n / 2], total[n / 2], total[0]);
  return 0;
}
