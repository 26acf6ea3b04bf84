/* store_sqlite's VFS, SQ_VFS_NAME: the default VFS (unix), except that a WAL frame reaches the
 * file in one write instead of two. SQLite writes a frame as its 24-byte header and then, at
 * once and right behind it, the page (walWriteOneFrame); here the header is held back and
 * written together with the page: one pwrite instead of two. Under booking load that was about
 * a third of the server's write system calls.
 *
 * Only WAL files are wrapped; the database file and every other file are the default VFS's
 * own, opened in place. Nothing is reordered on the WAL file: a held header goes out before
 * any other call on it does anything (read, sync, size, truncate, lock, close), and a write
 * that is not the page right behind it writes the header alone first. The header's write
 * error, if any, is the page write's error (SQLite then fails the frame, as it would have).
 * The wal-index (shared memory, a method of the database file) is updated by SQLite only after
 * a commit's frames are written, when no header is held any more.
 */
#include <pthread.h>
#include <string.h>

#include "sqlite_int.h"

#define SQ_FRAME_HDR 24 /* WAL_FRAME_HDRSIZE */

struct sq_vfile {
    sqlite3_file base; /* our methods */
    int held;          /* hdr waits to be written at held_off */
    sqlite3_int64 held_off;
    unsigned char hdr[SQ_FRAME_HDR];
    unsigned char *buf; /* header + page for the combined write (sqlite3_malloc'd) */
    int buf_cap;
    sqlite3_file *real; /* the default VFS's file, in the memory behind this struct */
};

static sqlite3_vfs *sq_real_vfs;
static sqlite3_vfs sq_vfs;
static pthread_once_t sq_vfs_once = PTHREAD_ONCE_INIT;
static int sq_vfs_rc = SQLITE_ERROR;

#define SQ_REAL(f) (((struct sq_vfile *)(f))->real)
#define SQ_RM(f) (SQ_REAL(f)->pMethods)

/* Writes a held header. SQLITE_OK or the error. */
static int
sq_vfile_flush(struct sq_vfile *f)
{
    if (!f->held)
        return SQLITE_OK;
    f->held = 0;
    return f->real->pMethods->xWrite(f->real, f->hdr, SQ_FRAME_HDR, f->held_off);
}

static int
sq_vf_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
    struct sq_vfile *f = (struct sq_vfile *)file;
    int rc;

    if (f->held && n > 0 && off == f->held_off + SQ_FRAME_HDR) {
        if (n + SQ_FRAME_HDR > f->buf_cap) {
            unsigned char *b = sqlite3_realloc(f->buf, n + SQ_FRAME_HDR);
            if (b == NULL)
                return sq_vfile_flush(f) == SQLITE_OK ? SQLITE_NOMEM : SQLITE_IOERR_WRITE;
            f->buf = b;
            f->buf_cap = n + SQ_FRAME_HDR;
        }
        memcpy(f->buf, f->hdr, SQ_FRAME_HDR);
        memcpy(f->buf + SQ_FRAME_HDR, p, (size_t)n);
        f->held = 0;
        return f->real->pMethods->xWrite(f->real, f->buf, n + SQ_FRAME_HDR, f->held_off);
    }
    if ((rc = sq_vfile_flush(f)) != SQLITE_OK)
        return rc;
    if (n == SQ_FRAME_HDR) {
        memcpy(f->hdr, p, SQ_FRAME_HDR);
        f->held_off = off;
        f->held = 1;
        return SQLITE_OK;
    }
    return f->real->pMethods->xWrite(f->real, p, n, off);
}

/* The other methods: write what is held, then do what the default VFS does. */
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
    SQ_FLUSHED(f);
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
