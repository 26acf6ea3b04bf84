/* store_sqlite's VFS, SQ_VFS_NAME: the default VFS (unix), except for how WAL frames are
 * written. SQLite appends a frame as its 24-byte header and then, right behind it, the page
 * (walWriteOneFrame): two pwrites per frame. Here a header is held and written with its page,
 * one pwrite per frame; and on a WAL file marked for batching (sq_vfs_batch_wal: the group
 * connection, which never spills its cache) the frames of a commit are collected and written
 * together, in pieces of up to SQ_WRITE_MAX bytes, when the commit frame's page arrives (the
 * commit frame, the one whose header holds the database size, comes last), or at
 * SQ_BATCH_MAX bytes. Under booking load that turned about 6 write system calls per booking
 * into one per group of bookings.
 *
 * Only WAL files are wrapped; the database file and every other file are the default VFS's
 * own, opened in place. Nothing is reordered on the WAL file: collected bytes go out before
 * any other call on it does anything (read, sync, size, truncate, lock, close), and before a
 * write that does not continue them. Only appends are collected: a header written below the
 * end of what was appended since the WAL header (SQLite rewriting checksums after a commit) or
 * a page that does not follow its header (a page rewritten in place) is written at once, after
 * what is collected. A write error of collected frames is the error of the write that sent
 * them, at the latest the commit frame's: SQLite then fails the commit, as it would have. The
 * wal-index (shared memory, a method of the database file) makes a commit visible only after
 * its commit frame was written, so no other connection reads a collected frame.
 *
 * Why batching needs a connection that never spills: a cache spill writes one frame in the
 * middle of a transaction, and nothing on the WAL file marks the end of that call. If the
 * transaction then rolled back, a collected spill frame would wait for this connection's next
 * call on the file, by when another connection may have appended its own frames at that
 * offset; written then, it would overwrite them. Without spills every collecting call ends in
 * its commit frame (or in an error that drops what was collected).
 */
#include <pthread.h>
#include <string.h>

#include "sqlite_int.h"

#define SQ_FRAME_HDR 24            /* WAL_FRAME_HDRSIZE */
#define SQ_WAL_HDR 32              /* WAL_HDRSIZE */
#define SQ_BATCH_MAX (1024 * 1024) /* collected bytes written at the latest */
/* The most the default VFS writes in one call: it masks the length with 0x1ffff (and reports a
 * longer write as a full disk); here 31 times 4 KiB. */
#define SQ_WRITE_MAX (0x1ffff & ~0xfff)

struct sq_vfile {
    sqlite3_file base;  /* our methods */
    unsigned char *buf; /* collected frames, for the file at buf_off (sqlite3_malloc'd) */
    int len, cap;
    sqlite3_int64 buf_off;
    int batch;              /* collect until the commit frame (sq_vfs_batch_wal) */
    int want_page;          /* buf ends with a frame header: its page continues it */
    int commit;             /* ... and that header is a commit frame's */
    sqlite3_int64 appended; /* end of the frames appended since the last WAL header */
    sqlite3_file *real;     /* the default VFS's file, in the memory behind this struct */
};

static sqlite3_vfs *sq_real_vfs;
static sqlite3_vfs sq_vfs;
static pthread_once_t sq_vfs_once = PTHREAD_ONCE_INIT;
static int sq_vfs_rc = SQLITE_ERROR;

#define SQ_REAL(f) (((struct sq_vfile *)(f))->real)
#define SQ_RM(f) (SQ_REAL(f)->pMethods)

/* Writes what is collected, in pieces of at most SQ_WRITE_MAX bytes. SQLITE_OK or the first
 * error (the bytes are dropped either way). */
static int
sq_vfile_flush(struct sq_vfile *f)
{
    int n = f->len, rc = SQLITE_OK;

    f->len = 0;
    f->want_page = 0;
    for (int done = 0; rc == SQLITE_OK && done < n; done += SQ_WRITE_MAX) {
        int k = n - done < SQ_WRITE_MAX ? n - done : SQ_WRITE_MAX;
        rc = f->real->pMethods->xWrite(f->real, f->buf + done, k, f->buf_off + done);
    }
    return rc;
}

/* Appends n bytes to the collected ones. SQLITE_OK or SQLITE_NOMEM. */
static int
sq_vfile_add(struct sq_vfile *f, const void *p, int n)
{
    if (f->len + n > f->cap) {
        int cap = f->cap > 0 ? f->cap : SQ_FRAME_HDR + 4096; /* one frame, unless batching */
        unsigned char *b;
        while (cap < f->len + n)
            cap *= 2;
        b = sqlite3_realloc(f->buf, cap);
        if (b == NULL)
            return SQLITE_NOMEM;
        f->buf = b;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, (size_t)n);
    f->len += n;
    return SQLITE_OK;
}

/* 1 when the 24-byte frame header h is a commit frame's (its database size is not 0). */
static int
sq_frame_commits(const unsigned char *h)
{
    return (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int
sq_vf_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
    struct sq_vfile *f = (struct sq_vfile *)file;
    int next = f->len > 0 && off == f->buf_off + f->len; /* continues what is collected */
    int rc;

    if (next && f->want_page && n > SQ_FRAME_HDR) { /* the page of the last header */
        if ((rc = sq_vfile_add(f, p, n)) != SQLITE_OK)
            return sq_vfile_flush(f) == SQLITE_OK ? rc : SQLITE_IOERR_WRITE;
        f->want_page = 0;
        f->appended = off + n;
        if (!f->batch || f->commit || f->len >= SQ_BATCH_MAX)
            return sq_vfile_flush(f);
        return SQLITE_OK;
    }
    if (!(next && !f->want_page && n == SQ_FRAME_HDR) && (rc = sq_vfile_flush(f)) != SQLITE_OK)
        return rc;
    if (n == SQ_FRAME_HDR && off >= f->appended) { /* a new frame's header: collected */
        if (f->len == 0)
            f->buf_off = off;
        if ((rc = sq_vfile_add(f, p, n)) != SQLITE_OK)
            return sq_vfile_flush(f) == SQLITE_OK ? rc : SQLITE_IOERR_WRITE;
        f->want_page = 1;
        f->commit = sq_frame_commits(p);
        return SQLITE_OK;
    }
    if (off == 0 && n == SQ_WAL_HDR)
        f->appended = 0; /* the WAL starts over: frames are appended from its start again */
    return f->real->pMethods->xWrite(f->real, p, n, off);
}

/* The other methods: write what is collected, then do what the default VFS does. */
#define SQ_FLUSHED(f)                                                                              \
    do {                                                                                           \
        int frc_ = sq_vfile_flush((struct sq_vfile *)(f));                                         \
        if (frc_ != SQLITE_OK)                                                                     \
            return frc_;                                                                           \
    } while (0)

static int
sq_vfile_close(sqlite3_file *file)
{
    struct sq_vfile *f = (struct sq_vfile *)file;
    int frc = sq_vfile_flush(f), rc = f->real->pMethods->xClose(f->real);

    sqlite3_free(f->buf);
    f->buf = NULL;
    return frc != SQLITE_OK ? frc : rc;
}

static int
sq_vf_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xRead(SQ_REAL(f), p, n, off);
}

static int
sq_vf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct sq_vfile *v = (struct sq_vfile *)f;

    SQ_FLUSHED(f);
    if (v->appended > size)
        v->appended = size;
    return SQ_RM(f)->xTruncate(SQ_REAL(f), size);
}

static int
sq_vf_sync(sqlite3_file *f, int flags)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xSync(SQ_REAL(f), flags);
}

static int
sq_vf_size(sqlite3_file *f, sqlite3_int64 *size)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xFileSize(SQ_REAL(f), size);
}

static int
sq_vf_lock(sqlite3_file *f, int lock)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xLock(SQ_REAL(f), lock);
}

static int
sq_vf_unlock(sqlite3_file *f, int lock)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xUnlock(SQ_REAL(f), lock);
}

static int
sq_vf_reserved(sqlite3_file *f, int *out)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xCheckReservedLock(SQ_REAL(f), out);
}

static int
sq_vf_fcntl(sqlite3_file *f, int op, void *arg)
{
    SQ_FLUSHED(f);
    return SQ_RM(f)->xFileControl(SQ_REAL(f), op, arg);
}

static int
sq_vf_sector(sqlite3_file *f)
{
    return SQ_RM(f)->xSectorSize(SQ_REAL(f));
}

static int
sq_vf_devchar(sqlite3_file *f)
{
    return SQ_RM(f)->xDeviceCharacteristics(SQ_REAL(f));
}

/* Version 1: SQLite maps shared memory and pages through the database file only. */
static const sqlite3_io_methods sq_wal_methods = {
    .iVersion = 1,
    .xClose = sq_vfile_close,
    .xRead = sq_vf_read,
    .xWrite = sq_vf_write,
    .xTruncate = sq_vf_truncate,
    .xSync = sq_vf_sync,
    .xFileSize = sq_vf_size,
    .xLock = sq_vf_lock,
    .xUnlock = sq_vf_unlock,
    .xCheckReservedLock = sq_vf_reserved,
    .xFileControl = sq_vf_fcntl,
    .xSectorSize = sq_vf_sector,
    .xDeviceCharacteristics = sq_vf_devchar,
};

/* Opens a file with the default VFS: a WAL file behind our struct, wrapped; any other file in
 * place, with the default VFS's own methods (szOsFile is larger than it needs). */
static int
sq_vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out)
{
    struct sq_vfile *f = (struct sq_vfile *)file;
    int rc;

    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return sq_real_vfs->xOpen(sq_real_vfs, name, file, flags, out);
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    rc = sq_real_vfs->xOpen(sq_real_vfs, name, f->real, flags, out);
    file->pMethods = f->real->pMethods != NULL ? &sq_wal_methods : NULL;
    return rc;
}

static void
sq_vfs_register_once(void)
{
    sq_real_vfs = sqlite3_vfs_find(NULL);
    if (sq_real_vfs == NULL)
        return;
    sq_vfs = *sq_real_vfs;
    sq_vfs.szOsFile = (int)sizeof(struct sq_vfile) + sq_real_vfs->szOsFile;
    sq_vfs.pNext = NULL;
    sq_vfs.zName = SQ_VFS_NAME;
    sq_vfs.xOpen = sq_vfs_open;
    sq_vfs_rc = sqlite3_vfs_register(&sq_vfs, 0);
}

int
sq_vfs_batch_file(sqlite3_file *f)
{
    if (f == NULL || f->pMethods != &sq_wal_methods)
        return 0;
    ((struct sq_vfile *)f)->batch = 1;
    return 1;
}

int
sq_vfs_batch_wal(sqlite3 *h)
{
    sqlite3_file *f = NULL;

    if (h == NULL || sqlite3_file_control(h, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK)
        return 0;
    return sq_vfs_batch_file(f);
}

int
sq_vfs_init(void)
{
    pthread_once(&sq_vfs_once, sq_vfs_register_once);
    return sq_vfs_rc;
}

/* The VFS lives in this shared object: it leaves SQLite's list when the object is unloaded. */
__attribute__((destructor)) static void
sq_vfs_fini(void)
{
    if (sq_vfs_rc == SQLITE_OK)
        sqlite3_vfs_unregister(&sq_vfs);
}
