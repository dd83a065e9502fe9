/* SPDX-License-Identifier: MIT */
/*
 * policy/abuse.h — a member's abuse budget and its consequences, as pure bookkeeping.
 *
 * A member whose reports keep failing admission, whose catch-up sessions keep failing, who
 * opens sessions far more often than any honest interval, or whose sessions make this node
 * scan its store far more often than any honest one needs, costs this node CPU for nothing. Each member (keyed by its member id, never by a link: a reconnect changes
 * nothing) has a budget per window of cfg.window_ms for each kind of charge (enum
 * policy_abuse_charge). The charge that goes past a budget is an *offence*: the member is
 * then refused for a backoff of backoff_ms * 2^(offences - 1), at most backoff_max_ms,
 * counted from the offence, and its window starts afresh.
 *
 * Forgiveness: good behaviour is time without an offence while not refused. For each
 * forgive_ms of it (counted from the end of the last refusal, or from the last forgiveness)
 * one offence is forgiven, so the next backoff is half as long; a member with no offence
 * left carries no durable state. A member refused once (one offence) with the defaults is
 * refused a minute and forgiven an hour after that.
 *
 * Durable part: struct policy_abuse_record (offences, refused_until_ms, forgiven_ms). The
 * caller stores the record policy_abuse_charge() hands back with an offence, and gives the
 * stored ones back with policy_abuse_restore() after a restart; times are wall-clock
 * milliseconds so that they keep their meaning across restarts. A refusal that reaches
 * further than backoff_max_ms from now (a clock stepped back, a record from a node with a
 * longer setting) is cut to backoff_max_ms.
 *
 * Reservations: work that is verified in parallel batches (the node's admission jobs) may
 * ask, before it starts, how many more charges of a kind the member can take before its
 * offence (policy_abuse_reserve()) and stop verifying that member's input past that, so an
 * offending member costs at most its budget even when its input is already queued.
 *
 * Time is a parameter (now_ms, wall-clock milliseconds), no I/O, no clock, no locking:
 * callers serialise the calls (the node calls it on its loop thread only).
 */
#ifndef CHATHAM_POLICY_ABUSE_H
#define CHATHAM_POLICY_ABUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum policy_abuse_charge {
	POLICY_ABUSE_REJECT = 0,  /* a report refused by admission (or its own over its rate) */
	POLICY_ABUSE_FAILED = 1,  /* a catch-up session it opened that failed or it abandoned */
	POLICY_ABUSE_SESSION = 2, /* any catch-up session it opened */
	POLICY_ABUSE_SCAN = 3,	  /* a pass' worth of catch-up work it caused (node/overlay) */
	POLICY_ABUSE__CHARGES = 4,
};

struct policy_abuse_config {
	uint32_t budget[POLICY_ABUSE__CHARGES]; /* charges per window before an offence, >= 1 */
	uint64_t window_ms;			/* >= 1 */
	uint64_t backoff_ms;			/* refusal after the first offence, >= 1 */
	uint64_t backoff_max_ms;		/* >= backoff_ms */
	uint64_t forgive_ms;			/* good behaviour that forgives one offence, >= 1 */
};

#define POLICY_ABUSE_CONFIG_DEFAULT                                                      \
	{                                                                                \
		.budget = {200, 20, 600, 1024}, .window_ms = 60000, .backoff_ms = 60000, \
		.backoff_max_ms = 86400000, .forgive_ms = 3600000,                       \
	}

/* What is stored per member (all times wall-clock ms since the Unix epoch). */
struct policy_abuse_record {
	uint32_t offences;	   /* not yet forgiven */
	uint64_t refused_until_ms; /* end of the current or last refusal; 0: never refused */
	uint64_t forgiven_ms;	   /* last forgiveness; forgiveness counts from the later of this
				      and refused_until_ms */
};

/* Results of policy_abuse_charge(). */
enum policy_abuse_verdict {
	POLICY_ABUSE_WITHIN = 0,  /* within the budget */
	POLICY_ABUSE_OFFENCE = 1, /* this charge went past it: refuse the member from now on */
	POLICY_ABUSE_REFUSED = 2, /* the member is refused already; the charge is not counted */
};

struct policy_abuse;

/* policy_abuse_check_config() - 0, or -EINVAL when @cfg breaks the bounds above. */
int policy_abuse_check_config(const struct policy_abuse_config *cfg);

/* policy_abuse_new() - an empty table with @cfg (copied); NULL on bad @cfg or no memory. */
struct policy_abuse *policy_abuse_new(const struct policy_abuse_config *cfg);

/* policy_abuse_free() - NULL is fine. */
void policy_abuse_free(struct policy_abuse *t);

/*
 * policy_abuse_set_config() - new budgets and backoffs (a reload). Records keep their
 * offences; refusals already decided keep their end. Returns 0 or -EINVAL (nothing changed).
 */
int policy_abuse_set_config(struct policy_abuse *t, const struct policy_abuse_config *cfg);

/*
 * policy_abuse_charge() - charge @what to member @id at @now_ms. Returns a
 * enum policy_abuse_verdict, or -ENOMEM when a new member could not be recorded (nothing is
 * counted then). With POLICY_ABUSE_OFFENCE the member's new durable record is copied to
 * *@rec (may be NULL): store it.
 */
int policy_abuse_charge(struct policy_abuse *t, const uint8_t id[32], enum policy_abuse_charge what,
			uint64_t now_ms, struct policy_abuse_record *rec);

/*
 * policy_abuse_refused_ms() - how much longer member @id is refused at @now_ms (0: it is
 * not), at most backoff_max_ms.
 */
uint64_t policy_abuse_refused_ms(const struct policy_abuse *t, const uint8_t id[32],
				 uint64_t now_ms);

/*
 * policy_abuse_reserve() - the charges of kind @what member @id can still take before its
 * offence (0 when refused), less those reserved by earlier calls and not yet released; the
 * result is reserved in turn. Returns -ENOMEM when a new member could not be recorded.
 */
int64_t policy_abuse_reserve(struct policy_abuse *t, const uint8_t id[32],
			     enum policy_abuse_charge what, uint64_t now_ms);

/* policy_abuse_release() - give back @n charges reserved for @id by policy_abuse_reserve(). */
void policy_abuse_release(struct policy_abuse *t, const uint8_t id[32],
			  enum policy_abuse_charge what, uint32_t n);

/*
 * policy_abuse_restore() - adopt the stored record @rec of member @id (at start-up). A
 * record with nothing left to remember at @now_ms is ignored. Returns 0 or -ENOMEM.
 */
int policy_abuse_restore(struct policy_abuse *t, const uint8_t id[32],
			 const struct policy_abuse_record *rec, uint64_t now_ms);

/*
 * policy_abuse_get() - member @id's record as of @now_ms (forgiveness applied) into *@rec.
 * Returns true when it has offences, false (and *@rec zeroed) when it has none.
 */
bool policy_abuse_get(const struct policy_abuse *t, const uint8_t id[32], uint64_t now_ms,
		      struct policy_abuse_record *rec);

/*
 * policy_abuse_each() - call @fn(@arg, id, rec) for every member with offences left at
 * @now_ms, in member id order (@id and @rec valid during the call only).
 */
void policy_abuse_each(const struct policy_abuse *t, uint64_t now_ms,
		       void (*fn)(void *arg, const uint8_t id[32],
				  const struct policy_abuse_record *rec),
		       void *arg);

/*
 * policy_abuse_prune() - forget members with nothing to remember at @now_ms (no offence
 * left, window over, nothing reserved). Returns how many entries remain.
 */
size_t policy_abuse_prune(struct policy_abuse *t, uint64_t now_ms);

#endif
