/*
 * xrtest.c: the tests' hands on Redis and the journal, with exact bytes
 * (redis-cli cannot send or show NUL bytes and invalid UTF-8 faithfully).
 *
 *   xrtest port                                   a free loopback TCP port
 *   xrtest fill URL STREAM N [--size B] [--mixed] [--big I] [--many I] [--start I]
 *                                                 XADD N generated entries (entry I
 *                                                 --big has a 1 MB value, --many has
 *                                                 1000 fields)
 *   xrtest read URL STREAM GROUP CONSUMER COUNT   XREADGROUP, never XACK
 *   xrtest pel URL STREAM GROUP                   "id owner deliveries" per pending entry
 *   xrtest take URL STREAM GROUP CONSUMER [ack]   XREADGROUP ... > until nothing is new:
 *                                                 "id hex" per entry read (hex: each field
 *                                                 and value, its length and its bytes), and
 *                                                 XACK each with ack
 *   xrtest range URL STREAM                       "id hex" per entry of the stream (XRANGE)
 *   xrtest xdel URL STREAM START COUNT            XDEL entries START..START+COUNT-1 (by position)
 *   xrtest verify URL DB STREAM GROUP [CONSUMER] [--lost]
 *                                                 journal payloads == Redis bytes,
 *                                                 no entry journalled twice, and all
 *                                                 that CONSUMER (xrecover) holds is journalled;
 *                                                 --lost: the payloads of lost events
 *                                                 instead, and not what is held
 *   xrtest race-reader URL STREAM GROUP CONSUMER SECONDS
 *                                                 read / check still pending / ack, in a loop;
 *                                                 "reads=N acked=N lost=0" when none was taken
 *   xrtest worker URL STREAM GROUP CONSUMER SECONDS
 *                                                 read new entries and acknowledge them until
 *                                                 SECONDS pass with nothing new; print each
 *                                                 entry's "i" field, one per line, and on
 *                                                 stderr "read=N acked=N" (what XACK acknowledged)
" *   xrtest slow URL STREAM GROUP CONSUMER HOLD_MS EVERY_MS SECONDS
 *                                                 a live but slow consumer: reads one new
 *                                                 entry every EVERY_MS, acknowledges each
 *                                                 HOLD_MS after reading it, for SECONDS; on
 *                                                 stdout "read=N acked=N taken=N" (taken:
 *                                                 no longer its own when it was done)
 *   xrtest copies URL DB BATCH                    each copy of a replay batch has the
 *                                                 journalled original's bytes
 *   xrtest dlmove URL STREAM GROUP OWNER DLQ ID...  xrecover's dead-letter move of these
 *                                                 entries, expecting them on OWNER: what
 *                                                 it did with each
 *   xrtest dlq URL STREAM GROUP DLQ [--consumer C] [--deliveries N] [--reason R]
 *              [--between MS MS]                  each dead letter of DLQ that came from
 *                                                 STREAM/GROUP: its fields are the entry's,
 *                                                 byte for byte and in order, then the
 *                                                 xrecover-* fields, each saying what it must
 *   xrtest places URL DB STREAM GROUP DLQ         where each journalled entry of the group
 *                                                 is: pending, in the dead-letter stream,
 *                                                 both, neither; and does the journal agree
 *   xrtest kill-at URL PID DELAY_US xlen KEY N
 *   xrtest kill-at URL PID DELAY_US xlen-below KEY N
 *   xrtest kill-at URL PID DELAY_US held STREAM GROUP CONSUMER N
 *                                                 SIGKILL PID DELAY_US after KEY has N entries
 *                                                 (xlen-below: N or fewer; held: CONSUMER
 *                                                 holds N); exits 1 if PID ended
 *                                                 first or 30 s passed (and kills it then)
 *   xrtest hashes URL STREAM ids ID...           per entry, a 64-bit hash of its fields
 *   xrtest hashes URL STREAM read GROUP CONSUMER  (each length and byte, in order): of
 *                                                 the entries named (XRANGE), or of those a
 *                                                 consumer reads with '>' (never acked)
 *   xrtest raise CONFIG DB STREAM GROUP RULE SEVERITY
 *                                                 an alert about STREAM/GROUP into the
 *                                                 journal's outbox (outbox_raise), routed
 *                                                 as CONFIG's webhooks want; prints its seq
 *   xrtest cut URL COMMAND SECONDS [N]            MONITOR; print "ready"; at the Nth (default
 *                                                 first) COMMAND another client sends, kill
 *                                                 that client's connection (as if Redis went
 *                                                 away)
 *   xrtest history DB STREAM GROUP HOURS LAST     into a new journal, real chained claim
 *                                                 events of STREAM/GROUP: in each of the
 *                                                 HOURS hours before the last one 20 to 40
 *                                                 (20 + h * 5 % 21 in hour h back), LAST
 *                                                 in the last hour (half an hour ago)
 *   xrtest plans rules CONFIG DB RUN              the statements the alert rules run at the
 *                                                 end of RUN (rules_find, then
 *                                                 rules_evaluate with nothing to raise),
 *   xrtest plans daily CONFIG DB                  or the daily report of today runs,
 *                                                 each once, in the order first run:
 *                                                 "sql: TEXT", a line "plan: DETAIL" per
 *                                                 step of its EXPLAIN QUERY PLAN, and
 *                                                 "fullscan: N", the rows it stepped
 *                                                 through in full scans (its most)
 */
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/mode.h"
#include "../core/outbox.h"
#include "../core/recover.h"
#include "../core/report.h"
#include "../core/rules.h"
#include "../lib/buf.h"
#include "../lib/util.h"
#include "../lib/payload.h"
#include "../stream/move.h"
#include "../stream/redis.h"
#include "../store/journal.h"

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "xrtest: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static redisContext *
connect_url(const char *url)
{
	struct redis_target t;
	struct xerr err;
	struct rconn *rc;
	redisContext *c;

	if (redis_target_parse(url, &t, &err) < 0)
		die("%s", err.msg);
	if (rconn_open(&t, 5000, 120000, &rc, &err) < 0)
		die("%s", err.msg);
	redis_target_free(&t);
	c = rc->c;
	rc->c = NULL;
	rconn_close(rc);
	return c;
}

static redisReply *
cmd(redisContext *c, int argc, const char **argv, const size_t *len)
{
	redisReply *r = redisCommandArgv(c, argc, argv, len);

	if (r == NULL)
		die("redis: %s", c->errstr);
	if (r->type == REDIS_REPLY_ERROR)
		die("redis: %s", r->str);
	return r;
}

/* ---------------------------------------------------------------- port */

static int
do_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	socklen_t l = sizeof(a);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) < 0)
		die("%s", "cannot find a free port");
	printf("%d\n", ntohs(a.sin_port));
	close(s);
	return 0;
}

/* ---------------------------------------------------------------- fill */

/* Items of an entry with many fields (--many): MANY_FIELDS pairs, and a few more. */
#define MANY_FIELDS 1000
#define MAX_ITEMS (2 * MANY_FIELDS + 32)

/*
 * The fields of generated entry i, as (offset, length) pairs into store:
 * off needs 2 * MAX_ITEMS slots.
 */
static void
gen_entry(long i, size_t size, bool mixed, long big, long many, struct buf *store,
    size_t *off, size_t *n)
{
	char num[32];
	size_t k = 0;
#define ADD(p_, n_) do { off[2 * k] = store->len; off[2 * k + 1] = (n_); \
	buf_add(store, (p_), (n_)); k++; } while (0)

	snprintf(num, sizeof(num), "%ld", i);
	buf_reset(store);
	ADD("i", 1);
	ADD(num, strlen(num));
	if (i == big) {
		size_t mb = 1 << 20;
		uint32_t x = (uint32_t)i * 2654435761u + 1;
		char *v = xmalloc(mb);
		for (size_t j = 0; j < mb; j++) {
			x = x * 1103515245u + 12345u;
			v[j] = (char)(x >> 16);
		}
		ADD("big", 3);
		ADD(v, mb);
		free(v);
	} else if (i == many) {
		/* Names repeat, values hold NUL, 0xff and every other byte. */
		for (int f = 0; f < MANY_FIELDS; f++) {
			char name[32], v[40];
			int nl = f % 100 == 0 ? snprintf(name, sizeof(name), "dup") :
			    snprintf(name, sizeof(name), "f%d", f);
			int vl = snprintf(v, sizeof(v), "%c%d%c\xff", (char)(f % 256), f, 0);
			ADD(name, (size_t)nl);
			ADD(v, (size_t)vl);
		}
	} else if (mixed) {
		switch (i % 8) {
		case 1: {
			char v[64];
			int l = snprintf(v, sizeof(v), "nul%c%ld%cend", 0, i, 0);
			ADD("v", 1);
			ADD(v, (size_t)l);
			break;
		}
		case 2: {
			char v[64];
			int l = snprintf(v, sizeof(v), "\xff\xfe\xfd%ld\x80", i);
			ADD("v", 1);
			ADD(v, (size_t)l);
			break;
		}
		case 3:
			ADD("\xc3\x28", 2);
			ADD(num, strlen(num));
			break;
		case 4:
			ADD("a", 1);
			ADD("1", 1);
			ADD("a", 1);
			ADD("2", 1);
			break;
		case 5: {
			char v[64];
			int l = snprintf(v, sizeof(v), "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80 %ld", i);
			ADD("v", 1);
			ADD(v, (size_t)l);
			break;
		}
		case 6:
			ADD("empty", 5);
			ADD("", 0);
			break;
		case 7: {
			char v[64];
			int l = snprintf(v, sizeof(v), "\"q\\ \n\t\x01\x7f %ld", i);
			ADD("v", 1);
			ADD(v, (size_t)l);
			break;
		}
		default:
			break;
		}
	}
	if (size > 0) {
		char *v = xmalloc(size);
		for (size_t j = 0; j < size; j++)
			v[j] = (char)('a' + (i + (long)j) % 26);
		ADD("body", 4);
		ADD(v, size);
		free(v);
	}
	*n = k;
#undef ADD
}

static int
do_fill(int argc, char **argv)
{
	redisContext *c;
	long n, start = 0, big = -1, many = -1;
	size_t size = 0;
	bool mixed = false;
	struct buf store = BUF_INIT;
	size_t *off = xmalloc(2 * MAX_ITEMS * sizeof(*off));
	const char **av = xmalloc((3 + MAX_ITEMS) * sizeof(*av));
	size_t *al = xmalloc((3 + MAX_ITEMS) * sizeof(*al));
	long pending = 0;

	if (argc < 5)
		die("%s", "usage: fill URL STREAM N [--size B] [--mixed] [--big I] [--many I] "
		    "[--start I]");
	c = connect_url(argv[2]);
	n = atol(argv[4]);
	for (int a = 5; a < argc; a++) {
		if (strcmp(argv[a], "--size") == 0 && a + 1 < argc)
			size = (size_t)atol(argv[++a]);
		else if (strcmp(argv[a], "--mixed") == 0)
			mixed = true;
		else if (strcmp(argv[a], "--big") == 0 && a + 1 < argc)
			big = atol(argv[++a]);
		else if (strcmp(argv[a], "--many") == 0 && a + 1 < argc)
			many = atol(argv[++a]);
		else if (strcmp(argv[a], "--start") == 0 && a + 1 < argc)
			start = atol(argv[++a]);
		else
			die("fill: unknown option %s", argv[a]);
	}
	for (long i = start; i < start + n; i++) {
		size_t nf;

		gen_entry(i, size, mixed, big, many, &store, off, &nf);
		av[0] = "XADD";
		al[0] = 4;
		av[1] = argv[3];
		al[1] = strlen(argv[3]);
		av[2] = "*";
		al[2] = 1;
		for (size_t k = 0; k < nf; k++) {
			av[3 + k] = store.data + off[2 * k];
			al[3 + k] = off[2 * k + 1];
		}
		/* The entry's bytes must stay put until the command is formatted. */
		redisAppendCommandArgv(c, (int)(3 + nf), av, al);
		pending++;
		if (pending == 500 || i + 1 == start + n) {
			for (; pending > 0; pending--) {
				redisReply *r;
				if (redisGetReply(c, (void **)&r) != REDIS_OK)
					die("redis: %s", c->errstr);
				if (r->type == REDIS_REPLY_ERROR)
					die("redis: %s", r->str);
				freeReplyObject(r);
			}
		}
	}
	printf("%ld\n", n);
	buf_free(&store);
	free(off);
	free(av);
	free(al);
	redisFree(c);
	return 0;
}

/* ---------------------------------------------------------------- read */

static int
do_read(int argc, char **argv)
{
	redisContext *c;
	long want, got = 0;

	if (argc != 7)
		die("%s", "usage: read URL STREAM GROUP CONSUMER COUNT");
	c = connect_url(argv[2]);
	want = atol(argv[6]);
	while (got < want) {
		char count[32];
		snprintf(count, sizeof(count), "%ld", want - got < 1000 ? want - got : 1000);
		const char *av[] = {"XREADGROUP", "GROUP", argv[4], argv[5], "COUNT", count,
		    "STREAMS", argv[3], ">"};
		redisReply *r = cmd(c, 9, av, NULL);
		if (r->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			break;
		}
		got += (long)r->element[0]->element[1]->elements;
		freeReplyObject(r);
	}
	printf("%ld\n", got);
	redisFree(c);
	return 0;
}

/* ---------------------------------------------------------- take, range */

/* "id hex" of one entry [id, [field, value, ...]]: each item as its length and bytes. */
static void
print_entry(const redisReply *e)
{
	const redisReply *f = e->element[1];

	printf("%s ", e->element[0]->str);
	for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k < f->elements; k++) {
		printf("%zx:", f->element[k]->len);
		for (size_t b = 0; b < f->element[k]->len; b++)
			printf("%02x", (unsigned char)f->element[k]->str[b]);
		printf(";");
	}
	printf("\n");
}

static int
do_take(int argc, char **argv)
{
	redisContext *c;
	bool ack = argc == 7 && strcmp(argv[6], "ack") == 0;

	if (argc != 6 && !ack)
		die("%s", "usage: take URL STREAM GROUP CONSUMER [ack]");
	c = connect_url(argv[2]);
	for (;;) {
		const char *av[] = {"XREADGROUP", "GROUP", argv[4], argv[5], "COUNT", "1000",
		    "STREAMS", argv[3], ">"};
		redisReply *r = cmd(c, 9, av, NULL);
		size_t n = 0;
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			const redisReply *es = r->element[0]->element[1];
			n = es->elements;
			for (size_t i = 0; i < n; i++) {
				print_entry(es->element[i]);
				if (ack) {
					const char *xv[] = {"XACK", argv[3], argv[4],
					    es->element[i]->element[0]->str};
					freeReplyObject(cmd(c, 4, xv, NULL));
				}
			}
		}
		freeReplyObject(r);
		if (n == 0)
			break;
	}
	redisFree(c);
	return 0;
}

static int
do_range(int argc, char **argv)
{
	redisContext *c;
	char start[64] = "-";

	if (argc != 4)
		die("%s", "usage: range URL STREAM");
	c = connect_url(argv[2]);
	for (;;) {
		const char *av[] = {"XRANGE", argv[3], start, "+", "COUNT", "1000"};
		redisReply *r = cmd(c, 6, av, NULL);
		struct entry_id id = {0, 0};
		size_t n = r->elements;
		for (size_t i = 0; i < n; i++) {
			print_entry(r->element[i]);
			entry_id_parse(r->element[i]->element[0]->str, r->element[i]->element[0]->len,
			    &id);
		}
		freeReplyObject(r);
		if (n < 1000)
			break;
		entry_id_format(entry_id_next(id), start, sizeof(start));
	}
	redisFree(c);
	return 0;
}

/* ----------------------------------------------------------------- pel */

static int
do_pel(int argc, char **argv)
{
	redisContext *c;
	char start[64] = "-";

	if (argc != 5)
		die("%s", "usage: pel URL STREAM GROUP");
	c = connect_url(argv[2]);
	for (;;) {
		const char *av[] = {"XPENDING", argv[3], argv[4], start, "+", "1000"};
		redisReply *r = cmd(c, 6, av, NULL);
		struct entry_id id = {0, 0};
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *e = r->element[i];
			printf("%s %s %lld\n", e->element[0]->str, e->element[1]->str,
			    e->element[3]->integer);
			entry_id_parse(e->element[0]->str, e->element[0]->len, &id);
		}
		size_t n = r->elements;
		freeReplyObject(r);
		if (n < 1000)
			break;
		entry_id_format(entry_id_next(id), start, sizeof(start));
	}
	redisFree(c);
	return 0;
}

/* ---------------------------------------------------------------- xdel */

static int
do_xdel(int argc, char **argv)
{
	redisContext *c;
	long start, count, pos = 0, deleted = 0;
	char from[64] = "-";

	if (argc != 6)
		die("%s", "usage: xdel URL STREAM START COUNT");
	c = connect_url(argv[2]);
	start = atol(argv[4]);
	count = atol(argv[5]);
	while (deleted < count) {
		const char *av[] = {"XRANGE", argv[3], from, "+", "COUNT", "1000"};
		redisReply *r = cmd(c, 6, av, NULL);
		struct entry_id id = {0, 0};
		if (r->elements == 0) {
			freeReplyObject(r);
			break;
		}
		for (size_t i = 0; i < r->elements && deleted < count; i++, pos++) {
			const char *idstr = r->element[i]->element[0]->str;
			entry_id_parse(idstr, strlen(idstr), &id);
			if (pos >= start) {
				const char *dv[] = {"XDEL", argv[3], idstr};
				freeReplyObject(cmd(c, 3, dv, NULL));
				deleted++;
			}
		}
		entry_id_parse(r->element[r->elements - 1]->element[0]->str,
		    r->element[r->elements - 1]->element[0]->len, &id);
		freeReplyObject(r);
		entry_id_format(entry_id_next(id), from, sizeof(from));
	}
	printf("%ld\n", deleted);
	redisFree(c);
	return 0;
}

/* -------------------------------------------------------------- verify */

static int
do_verify(int argc, char **argv)
{
	redisContext *c;
	sqlite3 *db;
	sqlite3_stmt *st;
	long checked = 0, mismatch = 0, gone = 0, dups = 0, unjournalled = 0;
	/* --lost: the payloads of the lost events are checked, not the claims' */
	bool lost = argc > 6 && strcmp(argv[argc - 1], "--lost") == 0;
	const char *consumer;

	argc -= lost;
	consumer = argc > 6 ? argv[6] : "xrecover";
	if (argc < 6)
		die("%s", "usage: verify URL DB STREAM GROUP [CONSUMER] [--lost]");
	c = connect_url(argv[2]);
	if (sqlite3_open_v2(argv[3], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("cannot open %s", argv[3]);

	/* 1. Each journalled payload decodes to exactly the bytes Redis has. */
	sqlite3_prepare_v2(db, lost ?
	    "SELECT entry_ms || '-' || entry_seq, payload FROM events WHERE kind = 'lost'"
	    " AND payload IS NOT NULL AND stream = ?1 AND grp = ?2 ORDER BY seq" :
	    "SELECT entry_id, payload FROM claimed_messages"
	    " WHERE stream = ?1 AND grp = ?2 ORDER BY seq", -1, &st, NULL);
	sqlite3_bind_text(st, 1, argv[4], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, argv[5], -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *json = (const char *)sqlite3_column_text(st, 1);
		size_t jlen = (size_t)sqlite3_column_bytes(st, 1);
		struct bytes *fv;
		size_t nfv;
		char *storep;
		const char *av[] = {"XRANGE", argv[4], id, id};
		redisReply *r = cmd(c, 4, av, NULL);

		checked++;
		if (r->elements != 1) {
			gone++;
			freeReplyObject(r);
			continue;
		}
		redisReply *f = r->element[0]->element[1];
		if (payload_decode(json, jlen, &fv, &nfv, &storep) < 0) {
			printf("MISMATCH %s: journal payload does not decode\n", id);
			mismatch++;
		} else {
			bool same = nfv == f->elements;
			for (size_t k = 0; same && k < nfv; k++)
				same = fv[k].n == f->element[k]->len &&
				    memcmp(fv[k].p, f->element[k]->str, fv[k].n) == 0;
			if (!same) {
				printf("MISMATCH %s: journal and Redis differ\n", id);
				mismatch++;
			}
			free(fv);
			free(storep);
		}
		freeReplyObject(r);
	}
	sqlite3_finalize(st);

	/* 2. No entry is journalled as claimed twice. */
	sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT entry_id FROM claimed_messages"
	    " WHERE stream = ?1 AND grp = ?2 GROUP BY entry_id HAVING count(*) > 1)",
	    -1, &st, NULL);
	sqlite3_bind_text(st, 1, argv[4], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, argv[5], -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		dups = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	/* 3. Everything the recovery consumer holds is in the journal. */
	sqlite3_prepare_v2(db, "SELECT 1 FROM events WHERE stream = ?1 AND grp = ?2"
	    " AND entry_ms = ?3 AND entry_seq = ?4 AND kind IN ('claim', 'claim_reconciled')",
	    -1, &st, NULL);
	char start[64] = "-";
	long held = 0;
	/* (with --lost, the group may be gone: nothing is held then) */
	for (; !lost;) {
		const char *av[] = {"XPENDING", argv[4], argv[5], start, "+", "1000", consumer};
		redisReply *r = cmd(c, 7, av, NULL);
		struct entry_id id = {0, 0};
		for (size_t i = 0; i < r->elements; i++) {
			const char *eid = r->element[i]->element[0]->str;
			held++;
			sqlite3_bind_text(st, 1, argv[4], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, argv[5], -1, SQLITE_STATIC);
			entry_id_parse(eid, strlen(eid), &id);
			sqlite3_bind_int64(st, 3, (int64_t)id.ms);
			sqlite3_bind_int64(st, 4, (int64_t)id.seq);
			if (sqlite3_step(st) != SQLITE_ROW) {
				if (unjournalled < 5)
					printf("UNJOURNALLED %s\n", eid);
				unjournalled++;
			}
			sqlite3_reset(st);
		}
		size_t n = r->elements;
		freeReplyObject(r);
		if (n < 1000)
			break;
		entry_id_format(entry_id_next(id), start, sizeof(start));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	redisFree(c);
	printf("checked=%ld mismatched=%ld gone=%ld duplicated=%ld held=%ld unjournalled=%ld\n",
	    checked, mismatch, gone, dups, held, unjournalled);
	return mismatch || dups || unjournalled ? 1 : 0;
}

/* --------------------------------------------------------- race-reader */

static volatile sig_atomic_t race_stop;

static void
on_term(int sig)
{
	(void)sig;
	race_stop = 1;
}

static int
do_race_reader(int argc, char **argv)
{
	redisContext *c;
	long reads = 0, acked = 0, lost = 0;
	int64_t end;

	if (argc != 7)
		die("%s", "usage: race-reader URL STREAM GROUP CONSUMER SECONDS");
	c = connect_url(argv[2]);
	end = mono_ms() + atol(argv[6]) * 1000;
	signal(SIGTERM, on_term);
	while (mono_ms() < end && !race_stop) {
		const char *add[] = {"XADD", argv[3], "*", "race", "1"};
		freeReplyObject(cmd(c, 5, add, NULL));
		const char *rd[] = {"XREADGROUP", "GROUP", argv[4], argv[5], "COUNT", "1",
		    "STREAMS", argv[3], ">"};
		redisReply *r = cmd(c, 9, rd, NULL);
		if (r->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			continue;
		}
		char id[64];
		snprintf(id, sizeof(id), "%s", r->element[0]->element[1]->element[0]->element[0]->str);
		freeReplyObject(r);
		reads++;
		/* The entry just read must still be pending on this consumer. */
		const char *pv[] = {"XPENDING", argv[3], argv[4], id, id, "1"};
		r = cmd(c, 6, pv, NULL);
		if (r->elements != 1 || strcmp(r->element[0]->element[1]->str, argv[5]) != 0) {
			lost++;
			printf("LOST %s\n", id);
		}
		freeReplyObject(r);
		/* 1 if it was still pending in the group, 0 if someone took it away */
		const char *ack[] = {"XACK", argv[3], argv[4], id};
		r = cmd(c, 4, ack, NULL);
		acked += r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
		freeReplyObject(r);
	}
	printf("reads=%ld acked=%ld lost=%ld\n", reads, acked, lost);
	redisFree(c);
	return lost || acked != reads ? 1 : 0;
}

/* -------------------------------------------------------------- worker */

static int
do_worker(int argc, char **argv)
{
	redisContext *c;
	int64_t quiet_until;
	long got = 0, acked = 0;

	if (argc != 7)
		die("%s", "usage: worker URL STREAM GROUP CONSUMER SECONDS");
	c = connect_url(argv[2]);
	quiet_until = mono_ms() + atol(argv[6]) * 1000;
	while (mono_ms() < quiet_until) {
		const char *rd[] = {"XREADGROUP", "GROUP", argv[4], argv[5], "COUNT", "100",
		    "BLOCK", "100", "STREAMS", argv[3], ">"};
		redisReply *r = cmd(c, 11, rd, NULL);
		if (r->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			continue;
		}
		redisReply *es = r->element[0]->element[1];
		for (size_t i = 0; i < es->elements; i++) {
			redisReply *f = es->element[i]->element[1];
			for (size_t k = 0; k + 1 < f->elements; k += 2)
				if (f->element[k]->len == 1 && f->element[k]->str[0] == 'i')
					printf("%s\n", f->element[k + 1]->str);
			const char *ack[] = {"XACK", argv[3], argv[4], es->element[i]->element[0]->str};
			redisReply *a = cmd(c, 4, ack, NULL);
			acked += a->type == REDIS_REPLY_INTEGER ? (long)a->integer : 0;
			freeReplyObject(a);
			got++;
		}
		if (es->elements > 0)
			quiet_until = mono_ms() + atol(argv[6]) * 1000;
		freeReplyObject(r);
	}
	fprintf(stderr, "read=%ld acked=%ld\n", got, acked);
	redisFree(c);
	return 0;
}

/* ---------------------------------------------------------------- slow */

#define SLOW_MAX 256

static int
do_slow(int argc, char **argv)
{
	redisContext *c;
	int64_t hold, every, end, next_read;
	char ids[SLOW_MAX][64];
	int64_t at[SLOW_MAX];
	size_t head = 0, n = 0;
	long got = 0, acked = 0, taken = 0;

	if (argc != 9)
		die("%s", "usage: slow URL STREAM GROUP CONSUMER HOLD_MS EVERY_MS SECONDS");
	c = connect_url(argv[2]);
	hold = atol(argv[6]);
	every = atol(argv[7]);
	end = mono_ms() + atol(argv[8]) * 1000;
	next_read = mono_ms();
	signal(SIGTERM, on_term);
	while (mono_ms() < end && !race_stop) {
		int64_t now = mono_ms();

		/* Done with the oldest: acknowledge it if it is still this consumer's. */
		while (n > 0 && at[head] + hold <= now) {
			const char *pv[] = {"XPENDING", argv[3], argv[4], ids[head], ids[head], "1"};
			redisReply *r = cmd(c, 6, pv, NULL);
			bool mine = r->elements == 1 && strcmp(r->element[0]->element[1]->str,
			    argv[5]) == 0;
			freeReplyObject(r);
			if (mine) {
				const char *ack[] = {"XACK", argv[3], argv[4], ids[head]};
				r = cmd(c, 4, ack, NULL);
				acked += r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
				freeReplyObject(r);
			} else {
				taken++;
				printf("TAKEN %s\n", ids[head]);
			}
			head = (head + 1) % SLOW_MAX;
			n--;
			/* One at a time: the next is read when this one is done. */
			if (every >= hold)
				next_read = now;
		}
		if (now >= next_read && n < SLOW_MAX && (every < hold || n == 0)) {
			const char *rd[] = {"XREADGROUP", "GROUP", argv[4], argv[5], "COUNT", "1",
			    "STREAMS", argv[3], ">"};
			redisReply *r = cmd(c, 9, rd, NULL);
			if (r->type == REDIS_REPLY_ARRAY && r->element[0]->element[1]->elements == 1) {
				size_t k = (head + n) % SLOW_MAX;
				snprintf(ids[k], sizeof(ids[k]), "%s",
				    r->element[0]->element[1]->element[0]->element[0]->str);
				at[k] = now;
				n++;
				got++;
			}
			freeReplyObject(r);
			next_read = now + every;
		}
		usleep(20 * 1000);
	}
	printf("read=%ld acked=%ld taken=%ld\n", got, acked, taken);
	redisFree(c);
	return 0;
}

/* Whether two field lists are the same bytes. */
static bool
same_fields(const redisReply *a, const struct bytes *fv, size_t n)
{
	if (a->elements != n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (a->element[k]->len != fv[k].n ||
		    memcmp(a->element[k]->str, fv[k].p, fv[k].n) != 0)
			return false;
	return true;
}

/* -------------------------------------------------------------- copies */

static int
do_copies(int argc, char **argv)
{
	redisContext *c;
	sqlite3 *db;
	sqlite3_stmt *st;
	long checked = 0, bad = 0, missing = 0;

	if (argc != 5)
		die("%s", "usage: copies URL DB BATCH");
	c = connect_url(argv[2]);
	if (sqlite3_open_v2(argv[3], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("cannot open %s", argv[3]);
	sqlite3_prepare_v2(db, "SELECT r.to_stream, r.copy_id, c.payload FROM replayed_messages r"
	    " JOIN claimed_messages c ON c.stream = r.stream AND c.grp = r.grp"
	    " AND c.entry_id = r.entry_id WHERE r.batch = ?1", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, atol(argv[4]));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *to = (const char *)sqlite3_column_text(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 1);
		const char *json = (const char *)sqlite3_column_text(st, 2);
		struct bytes *fv;
		size_t n;
		char *store;
		const char *av[] = {"XRANGE", to, id, id};
		redisReply *r = cmd(c, 4, av, NULL);

		checked++;
		if (r->elements != 1) {
			missing++;
		} else if (payload_decode(json, strlen(json), &fv, &n, &store) < 0) {
			bad++;
		} else {
			if (!same_fields(r->element[0]->element[1], fv, n)) {
				printf("DIFFERENT %s %s\n", to, id);
				bad++;
			}
			free(fv);
			free(store);
		}
		freeReplyObject(r);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	redisFree(c);
	printf("checked=%ld different=%ld missing=%ld\n", checked, bad, missing);
	return bad || missing ? 1 : 0;
}

/* -------------------------------------------------------- dead letters */

/* The fields xrecover appends to a dead letter, in order; a copy's has three more. */
static const char *const dl_plain[] = {"xrecover-origin-stream", "xrecover-origin-group",
    "xrecover-origin-id", "xrecover-origin-consumer", "xrecover-deliveries",
    "xrecover-dead-lettered-at", "xrecover-reason"};
static const char *const dl_copy[] = {"xrecover-origin-stream", "xrecover-origin-group",
    "xrecover-origin-id", "xrecover-copy-stream", "xrecover-copy-group", "xrecover-copy-id",
    "xrecover-origin-consumer", "xrecover-deliveries", "xrecover-dead-lettered-at",
    "xrecover-reason"};

/* What the tail of a dead letter says, read from its end. */
struct dl_tail {
	size_t own;                 /* items of the entry's own fields before the tail */
	bool copy;
	const redisReply *v[10];    /* the values, in the order of dl_plain or dl_copy */
};

static bool
str_is(const redisReply *r, const char *s)
{
	return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* Reads the xrecover-* fields from the end of f; false when they are not all there, in order. */
static bool
dl_tail_read(const redisReply *f, struct dl_tail *t)
{
	size_t n = f->elements;

	memset(t, 0, sizeof(*t));
	if (n % 2 != 0 || n < 14)
		return false;
	/* The seventh pair from the end tells the two layouts apart. */
	t->copy = str_is(f->element[n - 14], "xrecover-copy-stream");
	const char *const *names = t->copy ? dl_copy : dl_plain;
	size_t k = t->copy ? 10 : 7;
	if (n < 2 * k)
		return false;
	t->own = n - 2 * k;
	for (size_t i = 0; i < k; i++) {
		if (!str_is(f->element[t->own + 2 * i], names[i]))
			return false;
		t->v[i] = f->element[t->own + 2 * i + 1];
	}
	return true;
}

/* -------------------------------------------------------------- dlmove */

static int
do_dlmove(int argc, char **argv)
{
	struct redis_target t;
	struct xerr err = {0};
	struct rconn *rc;
	size_t n;
	struct dead_letter *d;
	redisReply **fields;
	struct bytes **fv;
	long moved = 0, not_pending = 0, other = 0;

	if (argc < 8)
		die("%s", "usage: dlmove URL STREAM GROUP OWNER DLQ ID...");
	if (redis_target_parse(argv[2], &t, &err) < 0 || rconn_open(&t, 5000, 120000, &rc, &err) < 0)
		die("%s", err.msg);
	redis_target_free(&t);
	n = (size_t)(argc - 7);
	d = xcalloc(n, sizeof(*d));
	fields = xcalloc(n, sizeof(*fields));
	fv = xcalloc(n, sizeof(*fv));
	for (size_t i = 0; i < n; i++) {
		const char *id = argv[7 + i];
		const char *av[] = {"XRANGE", argv[3], id, id};

		if (entry_id_parse(id, strlen(id), &d[i].id) < 0)
			die("not an entry ID: %s", id);
		fields[i] = cmd(rc->c, 4, av, NULL);
		if (fields[i]->elements != 1)
			die("no entry %s", id);
		const redisReply *f = fields[i]->element[0]->element[1];
		fv[i] = xcalloc(f->elements + 1, sizeof(**fv));
		for (size_t k = 0; k < f->elements; k++) {
			fv[i][k].p = f->element[k]->str;
			fv[i][k].n = f->element[k]->len;
		}
		d[i].fv = fv[i];
		d[i].nfv = f->elements;
		d[i].consumer = "xrtest";
		d[i].deliveries = 1;
		d[i].reason = "xrtest dlmove";
	}
	if (dead_letters_move(rc, argv[3], argv[4], argv[5], argv[6], d, n, &err) < 0)
		die("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		char dl[ENTRY_ID_STRLEN];
		if (d[i].done) {
			entry_id_format(d[i].dlq_id, dl, sizeof(dl));
			printf("%s moved %s\n", argv[7 + i], dl);
			moved++;
		} else if (d[i].owner != NULL) {
			printf("%s left: pending on %s\n", argv[7 + i], d[i].owner);
			other++;
		} else if (d[i].not_pending) {
			printf("%s left: not pending\n", argv[7 + i]);
			not_pending++;
		}
		free(d[i].owner);
		free(fv[i]);
		freeReplyObject(fields[i]);
	}
	printf("moved=%ld not_pending=%ld other_owner=%ld\n", moved, not_pending, other);
	free(d);
	free(fv);
	free(fields);
	rconn_close(rc);
	return 0;
}

/* ----------------------------------------------------------------- dlq */

/* The fields of stream/id, or NULL if it is not there (free the reply it is in). */
static redisReply *
entry_fields(redisContext *c, const redisReply *stream, const redisReply *id,
    const redisReply **ret)
{
	const char *av[] = {"XRANGE", stream->str, id->str, id->str};
	size_t al[] = {6, stream->len, id->len, id->len};
	redisReply *r = redisCommandArgv(c, 4, av, al);

	if (r == NULL)
		die("redis: %s", c->errstr);
	*ret = r->type == REDIS_REPLY_ARRAY && r->elements == 1 ? r->element[0]->element[1] : NULL;
	return r;
}

/* Whether the first n items of a are the items of b, byte for byte. */
static bool
same_items(const redisReply *a, size_t n, const redisReply *b)
{
	if (b->elements != n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (a->element[k]->len != b->element[k]->len ||
		    memcmp(a->element[k]->str, b->element[k]->str, a->element[k]->len) != 0)
			return false;
	return true;
}

/* Whether stream/id is pending in group. */
static bool
is_pending(redisContext *c, const redisReply *stream, const char *group, const redisReply *id)
{
	const char *av[] = {"XPENDING", stream->str, group, id->str, id->str, "1"};
	size_t al[] = {8, stream->len, strlen(group), id->len, id->len, 1};
	redisReply *r = redisCommandArgv(c, 6, av, al);
	bool p;

	if (r == NULL)
		die("redis: %s", c->errstr);
	p = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
	freeReplyObject(r);
	return p;
}

/* "2026-01-17T10:05:28.123Z" to Unix ms; -1 if it is not exactly that form. */
static int64_t
rfc3339_ms(const redisReply *v)
{
	static const char form[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	char sec[32];
	int64_t ms;

	if (v->len != sizeof(form) - 1)
		return -1;
	for (size_t i = 0; i < v->len; i++)
		if (form[i] == 'd' ? v->str[i] < '0' || v->str[i] > '9' : v->str[i] != form[i])
			return -1;
	snprintf(sec, sizeof(sec), "%.19sZ", v->str);
	if (parse_time(sec, 0, &ms) < 0)
		return -1;
	return ms + atoi(v->str + 20);
}

static void
report_dl(long *count, const char *what, const redisReply *dlid)
{
	if (*count < 5)
		printf("%s %s\n", what, dlid->str);
	(*count)++;
}

static int
do_dlq(int argc, char **argv)
{
	redisContext *c;
	const char *stream, *group, *dlq, *consumer = NULL, *deliveries = NULL, *reason = NULL;
	int64_t after = 0, before = 0;
	long letters = 0, same = 0, different = 0, layout = 0, origin_wrong = 0, missing = 0,
	    pending = 0, twice = 0, consumer_wrong = 0, deliveries_wrong = 0, reason_wrong = 0,
	    time_wrong = 0, copies = 0, other = 0;
	size_t max_items = 0, max_len = 0;
	char start[64] = "-";
	char **seen = NULL;
	size_t nseen = 0;

	if (argc < 6)
		die("%s", "usage: dlq URL STREAM GROUP DLQ [--consumer C] [--deliveries N] "
		    "[--reason R] [--between MS MS]");
	c = connect_url(argv[2]);
	stream = argv[3];
	group = argv[4];
	dlq = argv[5];
	for (int a = 6; a < argc; a++) {
		if (strcmp(argv[a], "--consumer") == 0 && a + 1 < argc)
			consumer = argv[++a];
		else if (strcmp(argv[a], "--deliveries") == 0 && a + 1 < argc)
			deliveries = argv[++a];
		else if (strcmp(argv[a], "--reason") == 0 && a + 1 < argc)
			reason = argv[++a];
		else if (strcmp(argv[a], "--between") == 0 && a + 2 < argc) {
			after = atoll(argv[++a]);
			before = atoll(argv[++a]);
		} else
			die("dlq: unknown option %s", argv[a]);
	}
	for (;;) {
		const char *av[] = {"XRANGE", dlq, start, "+", "COUNT", "100"};
		redisReply *all = cmd(c, 6, av, NULL);
		struct entry_id last = {0, 0};

		for (size_t i = 0; i < all->elements; i++) {
			const redisReply *dlid = all->element[i]->element[0];
			const redisReply *f = all->element[i]->element[1];
			struct dl_tail t;

			entry_id_parse(dlid->str, dlid->len, &last);
			if (!dl_tail_read(f, &t)) {
				report_dl(&layout, "LAYOUT", dlid);
				continue;
			}
			/* Where the entry was pending: the copy's place, or the origin's. */
			const redisReply *ps = t.copy ? t.v[3] : t.v[0];
			const redisReply *pg = t.copy ? t.v[4] : t.v[1];
			const redisReply *pid = t.copy ? t.v[5] : t.v[2];
			const redisReply *const *rest = t.copy ? &t.v[6] : &t.v[3];
			if (!str_is(ps, stream) || !str_is(pg, group)) {
				other++;
				continue;
			}
			letters++;
			copies += t.copy;
			max_items = t.own > max_items ? t.own : max_items;
			for (size_t k = 0; k < t.own; k++)
				max_len = f->element[k]->len > max_len ? f->element[k]->len : max_len;
			/* Each entry once. */
			bool dup = false;
			for (size_t k = 0; k < nseen && !dup; k++)
				dup = strcmp(seen[k], pid->str) == 0;
			if (dup)
				report_dl(&twice, "TWICE", dlid);
			seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = xstrdup(pid->str);

			/* The entry's own fields, byte for byte and in order. */
			const redisReply *orig;
			redisReply *r = entry_fields(c, ps, pid, &orig);
			if (orig == NULL)
				report_dl(&missing, "MISSING", dlid);
			else if (same_items(f, t.own, orig))
				same++;
			else
				report_dl(&different, "DIFFERENT", dlid);
			freeReplyObject(r);
			if (is_pending(c, ps, group, pid))
				report_dl(&pending, "PENDING", dlid);
			/* A copy's dead letter names its original, which has the same fields. */
			if (t.copy) {
				r = entry_fields(c, t.v[0], t.v[2], &orig);
				if (orig == NULL || !same_items(f, t.own, orig) ||
				    (str_is(t.v[0], ps->str) && str_is(t.v[2], pid->str)))
					report_dl(&origin_wrong, "ORIGIN", dlid);
				freeReplyObject(r);
			}
			if (consumer != NULL && !str_is(rest[0], consumer))
				report_dl(&consumer_wrong, "CONSUMER", dlid);
			if (deliveries != NULL && !str_is(rest[1], deliveries))
				report_dl(&deliveries_wrong, "DELIVERIES", dlid);
			int64_t at = rfc3339_ms(rest[2]);
			if (at < 0 || (before > 0 && (at < after || at > before)))
				report_dl(&time_wrong, "TIME", dlid);
			if (reason != NULL && !str_is(rest[3], reason))
				report_dl(&reason_wrong, "REASON", dlid);
		}
		size_t n = all->elements;
		freeReplyObject(all);
		if (n < 100)
			break;
		entry_id_format(entry_id_next(last), start, sizeof(start));
	}
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	redisFree(c);
	printf("dead_letters=%ld same=%ld different=%ld missing=%ld pending=%ld twice=%ld "
	    "copies=%ld origin_wrong=%ld consumer_wrong=%ld deliveries_wrong=%ld "
	    "time_wrong=%ld reason_wrong=%ld bad_layout=%ld other=%ld\n", letters, same,
	    different, missing, pending, twice, copies, origin_wrong, consumer_wrong,
	    deliveries_wrong, time_wrong, reason_wrong, layout, other);
	printf("most_items=%zu longest_value=%zu\n", max_items, max_len);
	return different || missing || pending || twice || origin_wrong || consumer_wrong ||
	    deliveries_wrong || time_wrong || reason_wrong || layout ? 1 : 0;
}

/* -------------------------------------------------------------- places */

static int
do_places(int argc, char **argv)
{
	redisContext *c;
	sqlite3 *db;
	sqlite3_stmt *st, *dl;
	long entries = 0, pending_only = 0, dlq_only = 0, both = 0, neither = 0, twice = 0,
	    disagree = 0;
	const char *stream, *group, *dlq;

	if (argc != 7)
		die("%s", "usage: places URL DB STREAM GROUP DLQ");
	stream = argv[4];
	group = argv[5];
	dlq = argv[6];
	c = connect_url(argv[2]);
	if (sqlite3_open_v2(argv[3], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("cannot open %s", argv[3]);

	/* The dead-letter stream: how many times each origin ID is there. */
	const char *av[] = {"XRANGE", dlq, "-", "+"};
	redisReply *all = cmd(c, 4, av, NULL);

	sqlite3_prepare_v2(db, "SELECT DISTINCT entry_id FROM claimed_messages"
	    " WHERE stream = ?1 AND grp = ?2", -1, &st, NULL);
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, group, -1, SQLITE_STATIC);
	/* By the entry's ID as numbers: the view's text ID would scan every event. */
	sqlite3_prepare_v2(db, "SELECT ref_ms || '-' || ref_seq FROM events"
	    " WHERE entry_ms = ?3 AND entry_seq = ?4 AND stream = ?1 AND grp = ?2"
	    " AND kind = 'dead_lettered'", -1, &dl, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *pv[] = {"XPENDING", stream, group, id, id, "1"};
		redisReply *r = cmd(c, 6, pv, NULL);
		bool pending = r->elements == 1;
		const char *where = NULL;
		int in_dlq = 0;

		freeReplyObject(r);
		for (size_t i = 0; i < all->elements; i++) {
			struct dl_tail t;
			/* Where it was pending: the copy's place, or the origin's. */
			if (dl_tail_read(all->element[i]->element[1], &t) &&
			    str_is(t.v[t.copy ? 5 : 2], id) && str_is(t.v[t.copy ? 3 : 0], stream) &&
			    str_is(t.v[t.copy ? 4 : 1], group)) {
				in_dlq++;
				where = all->element[i]->element[0]->str;
			}
		}
		entries++;
		if (in_dlq > 1)
			twice++;
		if (pending && in_dlq)
			both++;
		else if (pending)
			pending_only++;
		else if (in_dlq)
			dlq_only++;
		else
			neither++;
		/* The journal must say the same: a dead letter exactly when it is one. */
		sqlite3_reset(dl);
		sqlite3_bind_text(dl, 1, stream, -1, SQLITE_STATIC);
		sqlite3_bind_text(dl, 2, group, -1, SQLITE_STATIC);
		struct entry_id eid = {0, 0};
		entry_id_parse(id, strlen(id), &eid);
		sqlite3_bind_int64(dl, 3, (int64_t)eid.ms);
		sqlite3_bind_int64(dl, 4, (int64_t)eid.seq);
		int rows = 0;
		bool match = false;
		while (sqlite3_step(dl) == SQLITE_ROW) {
			rows++;
			match = where != NULL && strcmp((const char *)sqlite3_column_text(dl, 0), where) == 0;
		}
		if ((in_dlq && (rows != 1 || !match)) || (!in_dlq && rows != 0)) {
			if (disagree < 5)
				printf("DISAGREE %s: in_dlq=%d journal_rows=%d\n", id, in_dlq, rows);
			disagree++;
		}
	}
	freeReplyObject(all);
	sqlite3_finalize(st);
	sqlite3_finalize(dl);
	sqlite3_close(db);
	redisFree(c);
	printf("entries=%ld pending=%ld dead_lettered=%ld both=%ld neither=%ld twice=%ld "
	    "journal_disagrees=%ld\n", entries, pending_only, dlq_only, both, neither, twice,
	    disagree);
	return both || neither || twice || disagree ? 1 : 0;
}

/* ------------------------------------------------------------- kill-at */

/* Whether process pid still runs (a zombie, waiting for its parent, does not). */
static bool
running(pid_t pid)
{
	char path[64], st[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(st, 1, sizeof(st) - 1, f);
	fclose(f);
	st[n] = '\0';
	const char *p = strrchr(st, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* What the condition of kill-at measures now. */
static long long
kill_at_value(redisContext *c, char **argv, bool held)
{
	long long v = 0;

	if (!held) {
		const char *av[] = {"XLEN", argv[6]};
		redisReply *r = cmd(c, 2, av, NULL);
		v = r->integer;
		freeReplyObject(r);
		return v;
	}
	const char *av[] = {"XPENDING", argv[6], argv[7]};
	redisReply *r = cmd(c, 3, av, NULL);
	if (r->elements == 4 && r->element[3]->type == REDIS_REPLY_ARRAY) {
		const redisReply *cs = r->element[3];
		for (size_t i = 0; i < cs->elements; i++)
			if (strcmp(cs->element[i]->element[0]->str, argv[8]) == 0)
				v = atoll(cs->element[i]->element[1]->str);
	}
	freeReplyObject(r);
	return v;
}

/*
 * Kills a command under test in the middle of its work: once it has done
 * some of it in Redis (and not before it began), and a little later.
 */
static int
do_kill_at(int argc, char **argv)
{
	redisContext *c;
	bool held, below, reached = false;
	pid_t pid;
	long long want, v = 0;
	long delay;
	int64_t end;

	held = argc == 10 && strcmp(argv[5], "held") == 0;
	below = argc == 8 && strcmp(argv[5], "xlen-below") == 0;
	if (!held && !below && !(argc == 8 && strcmp(argv[5], "xlen") == 0))
		die("%s", "usage: kill-at URL PID DELAY_US xlen|xlen-below KEY N"
		    " | kill-at URL PID DELAY_US held STREAM GROUP CONSUMER N");
	c = connect_url(argv[2]);
	pid = (pid_t)atol(argv[3]);
	delay = atol(argv[4]);
	want = atoll(argv[argc - 1]);
	end = mono_ms() + 30000;
	while (running(pid) && mono_ms() < end) {
		struct timespec ts = {0, 200000};
		v = kill_at_value(c, argv, held);
		if (below ? v <= want : v >= want) {
			reached = true;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (reached && delay > 0) {
		struct timespec ts = {delay / 1000000, (delay % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	redisFree(c);
	if (!reached)
		printf("not reached: %lld of %lld\n", v, want);
	return reached ? 0 : 1;
}

/* ----------------------------------------------------------------- cut */

static int
do_cut(int argc, char **argv)
{
	redisContext *c, *k;
	redisReply *r;
	char want[64];
	struct timeval tv;
	long seen = 0, nth = argc > 5 ? atol(argv[5]) : 1;

	if (argc != 5 && argc != 6)
		die("%s", "usage: cut URL COMMAND SECONDS [N]");
	c = connect_url(argv[2]);
	k = connect_url(argv[2]);
	tv.tv_sec = atol(argv[4]);
	tv.tv_usec = 0;
	redisSetTimeout(c, tv);
	snprintf(want, sizeof(want), "] \"%s\"", argv[3]);
	r = redisCommand(c, "MONITOR");
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		die("%s", "MONITOR refused");
	freeReplyObject(r);
	printf("ready\n");
	fflush(stdout);
	while (redisGetReply(c, (void **)&r) == REDIS_OK) {
		/* 1700000000.123456 [0 127.0.0.1:54321] "XRANGE" "s" ... */
		const char *hit = r->type == REDIS_REPLY_STATUS ? strstr(r->str, want) : NULL;
		const char *sp = hit != NULL && ++seen >= nth ? strchr(r->str, '[') : NULL;
		if (sp != NULL && (sp = strchr(sp, ' ')) != NULL) {
			char addr[128];
			snprintf(addr, sizeof(addr), "%.*s", (int)(hit - sp - 1), sp + 1);
			redisReply *x = redisCommand(k, "CLIENT KILL ADDR %s", addr);
			printf("cut %s at %s: %s\n", addr, argv[3],
			    x != NULL && x->type != REDIS_REPLY_ERROR ? "killed" : "not killed");
			freeReplyObject(x);
			freeReplyObject(r);
			redisFree(c);
			redisFree(k);
			return 0;
		}
		freeReplyObject(r);
	}
	die("%s", "no such command seen before the time ran out");
	return 1;
}

/* -------------------------------------------------------------- hashes */

/* FNV-1a over each field's length and bytes: equal only for the same fields. */
static void
print_hash(const redisReply *f)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t k = 0; k < f->elements; k++) {
		uint64_t n = f->element[k]->len;
		for (int b = 0; b < 8; b++) {
			h ^= (n >> (8 * b)) & 0xff;
			h *= 0x100000001b3ull;
		}
		for (size_t i = 0; i < f->element[k]->len; i++) {
			h ^= (unsigned char)f->element[k]->str[i];
			h *= 0x100000001b3ull;
		}
	}
	printf("%016llx %zu\n", (unsigned long long)h, f->elements / 2);
}

static int
do_hashes(int argc, char **argv)
{
	redisContext *c;

	if (argc < 5 || (strcmp(argv[4], "read") == 0 && argc != 7))
		die("%s", "usage: hashes URL STREAM ids ID... | hashes URL STREAM read GROUP CONSUMER");
	c = connect_url(argv[2]);
	if (strcmp(argv[4], "ids") == 0) {
		for (int a = 5; a < argc; a++) {
			const char *av[] = {"XRANGE", argv[3], argv[a], argv[a]};
			redisReply *r = cmd(c, 4, av, NULL);
			if (r->elements == 1)
				print_hash(r->element[0]->element[1]);
			else
				printf("missing %s\n", argv[a]);
			freeReplyObject(r);
		}
	} else {
		for (;;) {
			const char *av[] = {"XREADGROUP", "GROUP", argv[5], argv[6], "COUNT", "1000",
			    "STREAMS", argv[3], ">"};
			redisReply *r = cmd(c, 9, av, NULL);
			size_t n = 0;
			if (r->type == REDIS_REPLY_ARRAY) {
				redisReply *es = r->element[0]->element[1];
				n = es->elements;
				for (size_t i = 0; i < n; i++)
					print_hash(es->element[i]->element[1]);
			}
			freeReplyObject(r);
			if (n == 0)
				break;
		}
	}
	redisFree(c);
	return 0;
}

/* An alert as a rule would raise it: the delivery tests need some with a stream and group. */
static int
do_raise(int argc, char **argv)
{
	struct config cfg;
	struct journal *j;
	struct xerr err = {0};
	struct alert_line line = {"things that happened", 3};
	struct alert a;
	int64_t seq;
	int sev;

	if (argc != 8 || (sev = severity_parse(argv[7])) < 0)
		die("%s", "usage: raise CONFIG DB STREAM GROUP RULE SEVERITY");
	if (config_load(argv[2], NULL, 0, &cfg, &err) < 0 ||
	    journal_open(argv[3], JOURNAL_WRITE, &j, &err) < 0 ||
	    journal_lock(j, 10000, &err) < 0)
		die("%s", err.msg);
	memset(&a, 0, sizeof(a));
	a.mode = ALERT_TEST;
	a.host = "xrtest";
	a.stream = argv[4];
	a.group = argv[5];
	a.severity = (enum severity)sev;
	a.rule = argv[6];
	a.state = "firing";
	a.title = "a test alert";
	a.lines = &line;
	a.nlines = 1;
	a.command = "xrecover report --daily";
	a.time_ms = now_ms();
	if (outbox_raise(j, &cfg, 0, &a, &seq, &err) < 0)
		die("%s", err.msg);
	printf("%lld\n", (long long)seq);
	journal_close(j);
	config_free(&cfg);
	return 0;
}

/* ------------------------------------------------------------- history */

static int
do_history(int argc, char **argv)
{
	struct journal *j;
	struct xerr err;
	long long hours, last;
	int64_t now = now_ms(), n = 0;

	if (argc != 7 || parse_int(argv[5], 0, 100000, &hours) < 0 ||
	    parse_int(argv[6], 0, 1000000, &last) < 0)
		die("%s", "usage: history DB STREAM GROUP HOURS LAST");
	if (access(argv[2], F_OK) == 0)
		die("%s: exists; history writes a new journal", argv[2]);
	if (journal_open(argv[2], JOURNAL_WRITE, &j, &err) < 0 || journal_begin(j, &err) < 0)
		die("%s", err.msg);
	for (long long h = hours; h >= 0; h--) {
		long long count = h == 0 ? last : 20 + h * 5 % 21;
		for (long long k = 0; k < count; k++) {
			struct event ev = EVENT_INIT;
			ev.kind = "claim";
			ev.ts = now - h * 3600000 - 1800000;
			ev.stream = argv[3];
			ev.grp = argv[4];
			ev.has_entry = true;
			ev.entry = (struct entry_id){(uint64_t)ev.ts, (uint64_t)n++};
			ev.consumer = "gone";
			ev.idle_ms = 60000;
			ev.deliveries = 1;
			ev.payload = "[]";
			ev.payload_len = 2;
			ev.detail = "{}";
			if (journal_append(j, &ev, &err) < 0)
				die("%s", err.msg);
		}
	}
	if (journal_commit(j, &err) < 0)
		die("%s", err.msg);
	journal_close(j);
	printf("%lld\n", (long long)n);
	return 0;
}

/* --------------------------------------------------------------- plans */

/* The statements a connection ran, each once, with its most full-scan steps. */
struct ran {
	char **sql;
	int *fullscan;
	size_t n;
};

static struct ran ran;

/* SQLITE_TRACE_PROFILE: a statement has finished (or was reset). */
static int
trace_ran(unsigned type, void *ctx, void *p, void *x)
{
	struct ran *r = ctx;
	sqlite3_stmt *st = p;
	const char *sql = sqlite3_sql(st);
	int full = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	size_t i;

	(void)type;
	(void)x;
	if (sql == NULL)
		return 0;
	for (i = 0; i < r->n && strcmp(r->sql[i], sql) != 0; i++)
		;
	if (i == r->n) {
		r->sql = xrealloc(r->sql, (r->n + 1) * sizeof(*r->sql));
		r->fullscan = xrealloc(r->fullscan, (r->n + 1) * sizeof(*r->fullscan));
		r->sql[i] = xstrdup(sql);
		r->fullscan[i] = 0;
		r->n++;
	}
	if (full > r->fullscan[i])
		r->fullscan[i] = full;
	return 0;
}

/* Every connection the process opens (sqlite3_auto_extension) is traced into ran. */
static int
trace_on(sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
	(void)errmsg;
	(void)api;
	sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, trace_ran, &ran);
	return SQLITE_OK;
}

/* The alert rules at the end of run: rules_find, then rules_evaluate with nothing to raise. */
static void
plans_rules(const struct config *cfg, const char *path, int64_t run)
{
	struct journal *j;
	struct xerr err = {0};
	struct mode mode = {"TEST", "xrtest"};
	struct group_result g = {0};
	struct recover_result r = {0};

	if (journal_open(path, JOURNAL_READ, &j, &err) < 0)
		die("%s", err.msg);
	g.stream = "s";
	g.group = "g";
	r.groups = &g;
	r.ngroups = 1;
	r.started_ms = now_ms();
	if (rules_find(j, cfg, run, "ok", NULL, &r, &err) < 0)
		die("%s", err.msg);
	rule_hits_free(r.hits, r.nhits);
	r.hits = NULL;
	r.nhits = 0;
	if (rules_evaluate(j, cfg, &mode, run, &r, &err) < 0)
		die("%s", err.msg);
	journal_close(j);
}

/* The daily report of today (UTC), as `report --daily` builds it. */
static void
plans_daily(const struct config *cfg)
{
	struct report_request req = {0};
	struct report rep;
	struct xerr err = {0};
	int64_t now = now_ms();

	req.what = REPORT_DAILY;
	req.day_ms = now - now % 86400000;
	if (report_build(cfg, &req, &rep, &err) < 0)
		die("%s", err.msg);
	report_free(&rep);
}

/* What the alert rules or the daily report run: each statement's text, plan and full scans. */
static int
do_plans(int argc, char **argv)
{
	struct config cfg;
	struct journal *j;
	struct xerr err = {0};
	long long run = 0;
	sqlite3 *db;

	if (argc < 5 || (strcmp(argv[2], "rules") == 0 ?
	    argc != 6 || parse_int(argv[5], 0, INT64_MAX, &run) < 0 :
	    strcmp(argv[2], "daily") != 0 || argc != 5))
		die("%s", "usage: plans rules CONFIG DB RUN | plans daily CONFIG DB");
	if (config_load(argv[3], NULL, 0, &cfg, &err) < 0)
		die("%s", err.msg);
	free(cfg.db_path);
	cfg.db_path = xstrdup(argv[4]);
	sqlite3_auto_extension((void (*)(void))trace_on);
	if (strcmp(argv[2], "rules") == 0)
		plans_rules(&cfg, argv[4], run);
	else
		plans_daily(&cfg);
	sqlite3_cancel_auto_extension((void (*)(void))trace_on);
	if (journal_open(argv[4], JOURNAL_READ, &j, &err) < 0)
		die("%s", err.msg);
	db = journal_db(j);
	for (size_t i = 0; i < ran.n; i++) {
		struct buf q = BUF_INIT;
		sqlite3_stmt *st;

		printf("sql: ");
		for (const char *c = ran.sql[i]; *c != '\0'; c++)
			putchar(*c == '\n' ? ' ' : *c);
		putchar('\n');
		buf_printf(&q, "EXPLAIN QUERY PLAN %s", ran.sql[i]);
		if (sqlite3_prepare_v2(db, buf_str(&q), -1, &st, NULL) != SQLITE_OK)
			die("explain: %s", sqlite3_errmsg(db));
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("plan: %s\n", (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		buf_free(&q);
		printf("fullscan: %d\n", ran.fullscan[i]);
		free(ran.sql[i]);
	}
	free(ran.sql);
	free(ran.fullscan);
	journal_close(j);
	config_free(&cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("%s", "usage: xrtest port|fill|read|pel|xdel|verify|race-reader|worker|slow|copies|dlq|dlmove|places|kill-at|cut|hashes|take|range|raise|history|plans ...");
	if (strcmp(argv[1], "port") == 0)
		return do_port();
	if (strcmp(argv[1], "fill") == 0)
		return do_fill(argc, argv);
	if (strcmp(argv[1], "read") == 0)
		return do_read(argc, argv);
	if (strcmp(argv[1], "take") == 0)
		return do_take(argc, argv);
	if (strcmp(argv[1], "range") == 0)
		return do_range(argc, argv);
	if (strcmp(argv[1], "pel") == 0)
		return do_pel(argc, argv);
	if (strcmp(argv[1], "xdel") == 0)
		return do_xdel(argc, argv);
	if (strcmp(argv[1], "verify") == 0)
		return do_verify(argc, argv);
	if (strcmp(argv[1], "race-reader") == 0)
		return do_race_reader(argc, argv);
	if (strcmp(argv[1], "worker") == 0)
		return do_worker(argc, argv);
	if (strcmp(argv[1], "slow") == 0)
		return do_slow(argc, argv);
	if (strcmp(argv[1], "copies") == 0)
		return do_copies(argc, argv);
	if (strcmp(argv[1], "dlq") == 0)
		return do_dlq(argc, argv);
	if (strcmp(argv[1], "dlmove") == 0)
		return do_dlmove(argc, argv);
	if (strcmp(argv[1], "places") == 0)
		return do_places(argc, argv);
	if (strcmp(argv[1], "kill-at") == 0)
		return do_kill_at(argc, argv);
	if (strcmp(argv[1], "cut") == 0)
		return do_cut(argc, argv);
	if (strcmp(argv[1], "hashes") == 0)
		return do_hashes(argc, argv);
	if (strcmp(argv[1], "raise") == 0)
		return do_raise(argc, argv);
	if (strcmp(argv[1], "history") == 0)
		return do_history(argc, argv);
	if (strcmp(argv[1], "plans") == 0)
		return do_plans(argc, argv);
	die("unknown command %s", argv[1]);
	return 1;
}
