/*-------------------------------------------------------------------------
 *
 * crypto_masterkey.c
 *		The master keys that wrap the tenants' data keys.
 *
 * The current master key comes from tenantcore.master_key_file (64
 * hexadecimal digits in a file owned by the server user, mode 0600 or
 * stricter) or from the standard output of tenantcore.master_key_command.
 * During a master key rotation the key being replaced is configured the same
 * way in tenantcore.previous_master_key_file or previous_master_key_command,
 * so data keys wrapped by it can still be unwrapped until
 * tenantcore.rewrap_tenant_keys() has wrapped them all with the current key.
 *
 * The settings are superuser-only and reloadable.  A key is read when first
 * needed (the current one in the postmaster already when the library is
 * preloaded), kept in static memory, wiped when its settings change and never
 * printed.  Each key has an id, the first 8 bytes of HMAC-SHA256(key,
 * "tenantcore master key id") in hexadecimal, stored next to every wrapped
 * data key so the right master key is known without trying.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "crypto_keycache.h"
#include "crypto_masterkey.h"
#include "util.h"

#define MASTER_KEY_HEX_LEN		(2 * MASTER_KEY_LEN)
#define KEY_ID_LEN		8
#define KEY_ID_LABEL	"tenantcore master key id"

typedef struct MasterKey
{
	const char *file_name;		/* names of the settings, for messages */
	const char *command_name;
	char	   *file;			/* the settings */
	char	   *command;
	bool		loaded;
	uint8		key[MASTER_KEY_LEN];
	char		id[2 * KEY_ID_LEN + 1];
	char		loaded_file[MAXPGPATH]; /* the settings the key was loaded with */
	char		loaded_command[MAXPGPATH];
}			MasterKey;

static MasterKey master_keys[2] = {
	[MASTER_KEY_CURRENT] = {"tenantcore.master_key_file", "tenantcore.master_key_command"},
	[MASTER_KEY_PREVIOUS] = {"tenantcore.previous_master_key_file", "tenantcore.previous_master_key_command"},
};

/*
 * WipeMasterKey forgets a loaded key.
 */
static void
WipeMasterKey(MasterKey *mk)
{
	explicit_bzero(mk->key, sizeof(mk->key));
	mk->id[0] = '\0';
	mk->loaded = false;
}

/*
 * ParseMasterKey parses 64 hexadecimal digits, optionally followed by
 * whitespace, into key[].  Returns false on any other content.
 */
static bool
ParseMasterKey(const char *buf, size_t len, uint8 *key)
{
	size_t		i;

	while (len > 0 && isspace((unsigned char) buf[len - 1]))
		len--;
	if (len != MASTER_KEY_HEX_LEN)
		return false;
	for (i = 0; i < MASTER_KEY_LEN; i++)
	{
		int			hi = tc_hex_value(buf[2 * i]);
		int			lo = tc_hex_value(buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			explicit_bzero(key, MASTER_KEY_LEN);
			return false;
		}
		key[i] = (uint8) (hi * 16 + lo);
	}
	return true;
}

/*
 * ReadMasterKeyFile reads a key file into buf after checking that only the
 * server user can read it.  Reports problems at elevel and returns -1.
 */
static ssize_t
ReadMasterKeyFile(const MasterKey *mk, char *buf, size_t size, int elevel)
{
	const char *path = mk->file;
	struct stat st;
	int			fd;
	ssize_t		n;

	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
	{
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not open master key file \"%s\": %m", path),
				 errhint("Check %s.", mk->file_name)));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" is not a regular file", path)));
		return -1;
	}
	if (st.st_uid != geteuid())
	{
		close(fd);
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" must be owned by the database server user", path),
				 errhint("Run chown on the file as the user the server runs as.")));
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" must not be accessible by group or others", path),
				 errhint("Run chmod 600 on the file.")));
		return -1;
	}
	n = read(fd, buf, size);
	close(fd);
	if (n < 0)
	{
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not read master key file \"%s\": %m", path)));
		return -1;
	}
	return n;
}

/*
 * ReadMasterKeyCommand runs a key command and reads its standard output.
 * Reports problems at elevel and returns -1.
 */
static ssize_t
ReadMasterKeyCommand(const MasterKey *mk, char *buf, size_t size, int elevel)
{
	FILE	   *pipe;
	size_t		n;
	int			rc;

	fflush(NULL);
	pipe = popen(mk->command, "r");
	if (pipe == NULL)
	{
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not run %s: %m", mk->command_name)));
		return -1;
	}
	n = fread(buf, 1, size, pipe);
	/* drain the rest so the command does not die of SIGPIPE */
	{
		char		rest[256];

		while (fread(rest, 1, sizeof(rest), pipe) > 0)
			n = size;			/* too long: make the parse fail */
		explicit_bzero(rest, sizeof(rest));
	}
	rc = pclose(pipe);
	if (rc != 0)
	{
		explicit_bzero(buf, size);
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s failed: %s", mk->command_name, wait_result_to_str(rc))));
		return -1;
	}
	return (ssize_t) n;
}

/*
 * ComputeKeyId sets the id of a loaded key (see tc_masterkey_id).
 */
static void
ComputeKeyId(MasterKey *mk)
{
	uint8		mac[TC_SHA256_LEN];
	TcBytes		label = {KEY_ID_LABEL, strlen(KEY_ID_LABEL)};

	if (!tc_hmac_sha256(mk->key, MASTER_KEY_LEN, &label, 1, mac))
		elog(ERROR, "could not compute the id of the master key");
	hex_encode((const char *) mac, KEY_ID_LEN, mk->id);
	mk->id[2 * KEY_ID_LEN] = '\0';
	explicit_bzero(mac, sizeof(mac));
}

/*
 * tc_masterkey_configured tells whether a file or command is set for a key.
 */
bool
tc_masterkey_configured(MasterKeySlot slot)
{
	MasterKey  *mk = &master_keys[slot];

	return (mk->file != NULL && mk->file[0] != '\0') ||
		(mk->command != NULL && mk->command[0] != '\0');
}

/*
 * tc_masterkey_load loads a master key from its file or command.  Problems are
 * reported at elevel (ERROR in backends, WARNING in the postmaster); returns
 * whether the key is loaded.  The key is never printed.
 */
bool
tc_masterkey_load(MasterKeySlot slot, int elevel)
{
	MasterKey  *mk = &master_keys[slot];
	char		buf[MASTER_KEY_HEX_LEN + 64];
	ssize_t		n;
	bool		have_file = mk->file != NULL && mk->file[0] != '\0';
	bool		have_command = mk->command != NULL && mk->command[0] != '\0';
	const char *source;

	if (mk->loaded)
		return true;

	if (!have_file && !have_command)
	{
		if (slot == MASTER_KEY_PREVIOUS)
			ereport(elevel,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no previous tenantcore master key is configured")));
		else
			ereport(elevel,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no tenantcore master key is configured"),
					 errdetail("PII encryption needs a master key that wraps the tenants' data keys."),
					 errhint("Create a file holding 64 hexadecimal digits (e.g. head -c32 /dev/urandom | od -An -tx1 | tr -d ' \\n'), owned by the server user with mode 600, set tenantcore.master_key_file to its path in postgresql.conf and reload.")));
		return false;
	}
	if (have_file && have_command)
	{
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s and %s are both set", mk->file_name, mk->command_name),
				 errhint("Set only one of them.")));
		return false;
	}

	if (have_file)
	{
		source = mk->file_name;
		n = ReadMasterKeyFile(mk, buf, sizeof(buf), elevel);
	}
	else
	{
		source = mk->command_name;
		n = ReadMasterKeyCommand(mk, buf, sizeof(buf), elevel);
	}
	if (n < 0)
		return false;

	if (!ParseMasterKey(buf, (size_t) n, mk->key))
	{
		explicit_bzero(buf, sizeof(buf));
		ereport(elevel,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the master key from %s is malformed", source),
				 errdetail("The key must be exactly 64 hexadecimal digits (256 bits), optionally followed by a newline.")));
		return false;
	}
	explicit_bzero(buf, sizeof(buf));
	mk->id[0] = '\0';			/* computed when first asked for */
	strlcpy(mk->loaded_file, have_file ? mk->file : "", sizeof(mk->loaded_file));
	strlcpy(mk->loaded_command, have_command ? mk->command : "", sizeof(mk->loaded_command));
	mk->loaded = true;
	return true;
}

/*
 * tc_masterkey_passphrase returns a loaded key in hexadecimal as a palloc'd
 * text datum (the passphrase of the OpenPGP messages that wrap data keys); the
 * caller wipes and frees it.
 */
text *
tc_masterkey_passphrase(MasterKeySlot slot)
{
	MasterKey  *mk = &master_keys[slot];
	text	   *t = (text *) palloc(VARHDRSZ + MASTER_KEY_HEX_LEN);

	Assert(mk->loaded);
	SET_VARSIZE(t, VARHDRSZ + MASTER_KEY_HEX_LEN);
	hex_encode((const char *) mk->key, MASTER_KEY_LEN, VARDATA(t));
	return t;
}

/*
 * tc_masterkey_id returns the id of a loaded key (16 hexadecimal digits).  It
 * is computed on first use, in a transaction: the HMAC of an OpenSSL build
 * needs a resource owner, which the postmaster loading the key does not have.
 */
const char *
tc_masterkey_id(MasterKeySlot slot)
{
	MasterKey  *mk = &master_keys[slot];

	Assert(mk->loaded);
	if (mk->id[0] == '\0')
		ComputeKeyId(mk);
	return mk->id;
}

/*
 * ForgetIfChanged forgets a loaded key, and every cached data key, when one
 * of its settings no longer has the value the key was loaded with (a reload
 * that changes nothing keeps the key, so a key command is not run again by
 * every new backend).
 */
static void
ForgetIfChanged(MasterKey *mk, const char *newval, const char *loaded_with)
{
	if (!mk->loaded)
		return;
	if (strcmp(newval ? newval : "", loaded_with) != 0)
	{
		WipeMasterKey(mk);
		tc_keycache_wipe();
	}
}

/* assign hooks of the four settings */
static void
AssignFile(const char *newval, void *extra)
{
	ForgetIfChanged(&master_keys[MASTER_KEY_CURRENT], newval,
					master_keys[MASTER_KEY_CURRENT].loaded_file);
}

static void
AssignCommand(const char *newval, void *extra)
{
	ForgetIfChanged(&master_keys[MASTER_KEY_CURRENT], newval,
					master_keys[MASTER_KEY_CURRENT].loaded_command);
}

static void
AssignPreviousFile(const char *newval, void *extra)
{
	ForgetIfChanged(&master_keys[MASTER_KEY_PREVIOUS], newval,
					master_keys[MASTER_KEY_PREVIOUS].loaded_file);
}

static void
AssignPreviousCommand(const char *newval, void *extra)
{
	ForgetIfChanged(&master_keys[MASTER_KEY_PREVIOUS], newval,
					master_keys[MASTER_KEY_PREVIOUS].loaded_command);
}

/*
 * tc_masterkey_init defines the key settings.  When preloaded, the postmaster
 * reads the current key once, so a key command runs at server start and
 * backends inherit the key.
 */
void
tc_masterkey_init(void)
{
	DefineCustomStringVariable("tenantcore.master_key_file",
							   gettext_noop("File holding the tenantcore master key (64 hexadecimal digits)."),
							   gettext_noop("Must be owned by the server user and not readable by group or others."),
							   &master_keys[MASTER_KEY_CURRENT].file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, AssignFile, NULL);

	DefineCustomStringVariable("tenantcore.master_key_command",
							   gettext_noop("Shell command that prints the tenantcore master key (64 hexadecimal digits)."),
							   gettext_noop("Run by the server when the key is first needed; used when tenantcore.master_key_file is empty."),
							   &master_keys[MASTER_KEY_CURRENT].command,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
							   NULL, AssignCommand, NULL);

	DefineCustomStringVariable("tenantcore.previous_master_key_file",
							   gettext_noop("File holding the master key being replaced during a master key rotation."),
							   gettext_noop("Data keys wrapped by it stay readable until tenantcore.rewrap_tenant_keys() has wrapped them with the current key."),
							   &master_keys[MASTER_KEY_PREVIOUS].file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, AssignPreviousFile, NULL);

	DefineCustomStringVariable("tenantcore.previous_master_key_command",
							   gettext_noop("Shell command that prints the master key being replaced during a master key rotation."),
							   NULL,
							   &master_keys[MASTER_KEY_PREVIOUS].command,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
							   NULL, AssignPreviousCommand, NULL);

	if (process_shared_preload_libraries_in_progress && tc_masterkey_configured(MASTER_KEY_CURRENT))
		(void) tc_masterkey_load(MASTER_KEY_CURRENT, WARNING);
}
