/* SPDX-License-Identifier: MIT */
/* node/notify: sd_notify datagrams to path and abstract sockets, watchdog settings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/daemon/notify.h"
#include "testutil.h"

static int bind_dgram(const char *name, bool abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (abstract) {
		memcpy(sa.sun_path + 1, name, strlen(name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	} else {
		strcpy(sa.sun_path, name);
		len = sizeof(sa);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void expect(int fd, const char *want)
{
	char buf[4200];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_path_socket(void **state)
{
	char *dir = tu_tmpdir(), path[256];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(node_notify("READY=1\nSTATUS=up"), 0);
	expect(fd, "READY=1\nSTATUS=up");
	assert_int_equal(node_notifyf("STATUS=%d clients", 3), 0);
	expect(fd, "STATUS=3 clients");
	close(fd);
	/* nobody listening any more: the send fails, it is never fatal */
	assert_true(node_notify("WATCHDOG=1") < 0);
	unsetenv("NOTIFY_SOCKET");
	tu_rmtree(dir);
	free(dir);
}

static void test_abstract_socket(void **state)
{
	char name[64], env[80];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "chatham-unit-%d", (int)getpid());
	fd = bind_dgram(name, true);
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	assert_int_equal(node_notify("STOPPING=1"), 0);
	expect(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_no_or_bad_socket(void **state)
{
	char longname[200];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(node_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(node_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(node_notify("READY=1"), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_int_equal(node_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
	char pid[32];

	(void)state;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(node_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(node_notify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(node_notify_watchdog_usec(), 30000000);
	setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
	assert_int_equal(node_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "0", 1);
	assert_int_equal(node_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "12x", 1);
	assert_int_equal(node_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_no_or_bad_socket),
		cmocka_unit_test(test_watchdog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
