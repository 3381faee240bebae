/*-------------------------------------------------------------------------
 *
 * audit_ids.c
 *		Audit entry ids in shared memory: the counter a Citus node takes the
 *		ids of its entries from, and which ids are settled (no running or
 *		prepared transaction can still commit an entry below them).
 *
 * The node counter.  On a single server (and on a Citus coordinator) an
 * entry's id is the next value of the log's sequence (audit_log.c).  A node
 * of a Citus cluster that writes into its shards of a distributed log (or of
 * audit_reads) takes ids from a counter in shared memory instead:
 *     ((milliseconds since 2020-01-01 UTC << 12) + n) << 10 | (group % 1024)
 * each value the greater of the clock's and the last one plus one (see
 * audit_log.c's header for why).
 *
 * Settled ids.  An entry's id is taken when the trigger writes it, and the
 * entry shows when its transaction commits.  A reader that resumes after the last id it saw
 * (audit_export) would skip an entry of a transaction that took a lower id
 * and committed later.  So every backend publishes in shared memory, with its
 * database, the first id its transaction took (ids only rise: its lowest),
 * from just before taking it until the transaction ends; a prepared
 * transaction's first id moves to a cell of its own, which counts while the
 * transaction's xid is in progress.  tc_audit_settled_before() returns the
 * lowest of those ids of the database and of the lowest id this node can hand
 * out next (_audit_settled_before(), audit_log.c): every entry below it
 * belongs to a transaction that has ended, so a snapshot taken afterwards
 * shows every one that committed.
 *
 * Why no entry slips through: a backend marks its slot "pending" before it
 * takes an id.  An id below the bound was taken before the reader read the
 * bound (the sequence's buffer lock or the node counter's atomic orders the
 * two), so the slot was marked before, and the reader's scan that follows
 * sees it, or sees it cleared once the transaction ended.  The writer takes
 * the sequence's lock before it marks the slot, so a pending slot lasts the
 * few instructions of taking an id (never a wait for a lock that the reader
 * might hold): the reader waits for it.  The calling transaction's own
 * entries are settled for itself.
 *
 * Shared memory does not survive a restart, and a prepared transaction does:
 * one prepared before the shared memory was set up is in no cell, so the
 * caller holds every entry back while such a transaction is left.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/autovacuum.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "audit_ids.h"

#define SLOT_NONE		UINT64CONST(0)
#define SLOT_PENDING	PG_UINT64_MAX

#if PG_VERSION_NUM >= 170000
#define TcMyProcNumber() (MyProcNumber)
#else
#define TcMyProcNumber() (MyProc->pgprocno)
#endif

/* a backend's slot: the database, then the first id (see the file header) */
typedef struct Slot
{
	Oid			dbid;
	pg_atomic_uint64 first_id;
}			Slot;

/* the first id of a prepared transaction that wrote entries */
typedef struct PreparedCell
{
	TransactionId xid;
	Oid			dbid;
	uint64		first_id;
}			PreparedCell;

typedef struct IdsShared
{
	pg_atomic_uint64 node_last_id;	/* the node counter's last value */
	int			nslots;			/* one per PGPROC; also the number of cells */
	TimestampTz started_at;		/* when shared memory was set up */
	LWLock	   *lock;			/* guards the cells */
	Slot	   *slots;			/* indexed by proc number */
	PreparedCell *cells;
}			IdsShared;

static IdsShared *shared = NULL;

/* this backend's slot: none, pending (no id yet) or holding its first id */
typedef enum
{
	MINE_NONE,
	MINE_PENDING,
	MINE_SET
}			MineState;

static MineState mine = MINE_NONE;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* how many PGPROCs the server has (ProcGlobal->allProcCount) */
static int
SlotCount(void)
{
#if PG_VERSION_NUM >= 150000
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
#else
	/* MaxBackends is computed after shared_preload_libraries are loaded */
	return MaxConnections + autovacuum_max_workers + 1 + max_worker_processes +
		max_wal_senders + NUM_AUXILIARY_PROCS + max_prepared_xacts;
#endif
}

static Size
IdsShmemSize(void)
{
	Size		size = MAXALIGN(sizeof(IdsShared));

	size = add_size(size, MAXALIGN(mul_size(SlotCount(), sizeof(Slot))));
	return add_size(size, mul_size(SlotCount(), sizeof(PreparedCell)));
}

static void
RequestIdsShmem(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(IdsShmemSize());
	RequestNamedLWLockTranche("tenantcore audit ids", 1);
}

static void
StartupIdsShmem(void)
{
	bool		found;
	char	   *base;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("tenantcore audit ids", IdsShmemSize(), &found);
	shared = (IdsShared *) base;
	if (!found)
	{
		pg_atomic_init_u64(&shared->node_last_id, 0);
		shared->nslots = SlotCount();
		shared->started_at = GetCurrentTimestamp();
		shared->lock = &(GetNamedLWLockTranche("tenantcore audit ids"))->lock;
		shared->slots = (Slot *) (base + MAXALIGN(sizeof(IdsShared)));
		shared->cells = (PreparedCell *) ((char *) shared->slots +
										   MAXALIGN(mul_size(shared->nslots, sizeof(Slot))));
		for (int i = 0; i < shared->nslots; i++)
		{
			shared->slots[i].dbid = InvalidOid;
			pg_atomic_init_u64(&shared->slots[i].first_id, SLOT_NONE);
			shared->cells[i].xid = InvalidTransactionId;
			shared->cells[i].dbid = InvalidOid;
			shared->cells[i].first_id = 0;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

static Slot *
MySlot(void)
{
	int			procno = TcMyProcNumber();

	if (shared == NULL || procno < 0 || procno >= shared->nslots)
		elog(ERROR, "tenantcore's shared memory for audit entry ids is not set up");
	return &shared->slots[procno];
}

static void
ClearMine(void)
{
	if (mine == MINE_NONE)
		return;
	pg_atomic_write_u64(&MySlot()->first_id, SLOT_NONE);
	mine = MINE_NONE;
}

/*
 * RememberPrepared keeps the first id of a transaction being prepared in a
 * cell: its entries stay invisible until COMMIT PREPARED, which another
 * backend may run.  A cell whose transaction is no longer in progress is
 * free.  Runs before the transaction is prepared, so an error aborts it.
 */
static void
RememberPrepared(void)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	uint64		first = pg_atomic_read_u64(&MySlot()->first_id);
	int			free_cell = -1;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->nslots && free_cell < 0; i++)
	{
		TransactionId cell_xid = shared->cells[i].xid;

		if (!TransactionIdIsValid(cell_xid) || !TransactionIdIsInProgress(cell_xid))
			free_cell = i;
	}
	if (free_cell < 0)
	{
		LWLockRelease(shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("no room left to note a prepared transaction's audit entries"),
				 errdetail("Every cell of tenantcore's shared memory holds a transaction in progress.")));
	}
	shared->cells[free_cell].xid = xid;
	shared->cells[free_cell].dbid = MyDatabaseId;
	shared->cells[free_cell].first_id = first;
	LWLockRelease(shared->lock);
}

static void
SettledXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (mine == MINE_SET)
				RememberPrepared();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			ClearMine();
			break;
		default:
			break;
	}
}

/*
 * An error between marking the slot pending and publishing the id, caught
 * by a savepoint, must not leave the slot pending: readers wait on one.
 */
static void
SettledSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && mine == MINE_PENDING)
		ClearMine();
}

/*
 * tc_audit_ids_init registers the shared memory and the transaction
 * callbacks (from shared_preload_libraries).
 */
void
tc_audit_ids_init(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = RequestIdsShmem;
#else
	RequestIdsShmem();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = StartupIdsShmem;
	RegisterXactCallback(SettledXactCallback, NULL);
	RegisterSubXactCallback(SettledSubXactCallback, NULL);
}

/* 2020-01-01 00:00 UTC as a PostgreSQL timestamp (microseconds since 2000) */
#define NODE_ID_EPOCH INT64CONST(631152000000000)

/*
 * NodeCounterNext advances the node's counter: the greater of the clock's
 * value and the last one plus one.
 */
static uint64
NodeCounterNext(void)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		clock = now > NODE_ID_EPOCH ? (uint64) ((now - NODE_ID_EPOCH) / 1000) << 12 : 0;
	uint64		last;
	uint64		next;

	if (shared == NULL)
		elog(ERROR, "tenantcore's shared memory for audit entry ids is not set up");
	last = pg_atomic_read_u64(&shared->node_last_id);
	do
		next = Max(clock, last + 1);
	while (!pg_atomic_compare_exchange_u64(&shared->node_last_id, &last, next));
	return next;
}

/*
 * tc_audit_node_id returns the next id of a row that this Citus node (group)
 * writes into its shard of a distributed audit table: the log's entries
 * (audit_log.c) and the rows of audit_reads (audit_reads.c).
 */
int64
tc_audit_node_id(int32 group)
{
	return (int64) ((NodeCounterNext() << 10) | (uint64) (group % 1024));
}

/*
 * tc_audit_node_bound returns an id below every id this node hands out from
 * now on, and above every one it handed out before: it takes a value of the
 * counter, so it holds right after a restart too (the counter starts again
 * from the clock).
 */
int64
tc_audit_node_bound(void)
{
	return (int64) (NodeCounterNext() << 10);
}

/*
 * tc_audit_settled_published tells whether the transaction's first id is
 * published already.  If not, the writer calls tc_audit_settled_begin before
 * it takes the id and tc_audit_settled_publish with it.
 */
bool
tc_audit_settled_published(void)
{
	return mine == MINE_SET;
}

void
tc_audit_settled_begin(void)
{
	Slot	   *slot = MySlot();

	slot->dbid = MyDatabaseId;
	pg_write_barrier();
	pg_atomic_write_u64(&slot->first_id, SLOT_PENDING);
	pg_memory_barrier();
	mine = MINE_PENDING;
}

void
tc_audit_settled_publish(int64 id)
{
	pg_atomic_write_u64(&MySlot()->first_id, (uint64) id);
	mine = MINE_SET;
}

/*
 * WaitWhilePending waits for slot to leave the pending state: its backend is
 * taking its first id right now, which takes microseconds (it holds the
 * sequence's lock before it marks the slot).  The wait shows as an
 * Extension wait event.
 */
static uint64
WaitWhilePending(Slot *slot)
{
	uint64		first = pg_atomic_read_u64(&slot->first_id);

	while (first == SLOT_PENDING)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		first = pg_atomic_read_u64(&slot->first_id);
	}
	return first;
}

/*
 * tc_audit_settled_before returns the id below which every entry of this
 * database is settled (see the file header): bound is the lowest id this node
 * can hand out next, read just before.  *started_at tells when the shared
 * memory was set up: a transaction prepared before it (recovered after a
 * restart) is not in the cells, and the caller must hold everything back
 * while one is left.
 */
int64
tc_audit_settled_before(int64 bound, TimestampTz *started_at)
{
	uint64		before = (uint64) bound;
	int			me = TcMyProcNumber();

	if (shared == NULL)
		elog(ERROR, "tenantcore's shared memory for audit entry ids is not set up");
	*started_at = shared->started_at;
	pg_memory_barrier();
	for (int i = 0; i < shared->nslots; i++)
	{
		uint64		first;

		if (i == me)
			continue;
		first = WaitWhilePending(&shared->slots[i]);
		pg_read_barrier();
		if (first != SLOT_NONE && first < before && shared->slots[i].dbid == MyDatabaseId)
			before = first;
	}
	LWLockAcquire(shared->lock, LW_SHARED);
	for (int i = 0; i < shared->nslots; i++)
	{
		PreparedCell cell = shared->cells[i];

		if (TransactionIdIsValid(cell.xid) && cell.dbid == MyDatabaseId && cell.first_id < before &&
			TransactionIdIsInProgress(cell.xid))
			before = cell.first_id;
	}
	LWLockRelease(shared->lock);
	return (int64) before;
}
