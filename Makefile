# tenantcore -- PGXS build
EXTENSION  = tenantcore
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/p" tenantcore.control)

MODULE_big = tenantcore
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# Install scripts: the first version's full script and one upgrade script per
# release after it.  The full script of the current version is built from them,
# so a fresh install runs exactly what an upgrade runs.
# RELEASED: the scripts of released versions, frozen in sql/released/ (base
# script first, then the upgrades in version order; checksums and release
# commits there, checked by test/shell/released_scripts.sh).  UPGRADES: the
# upgrade scripts of versions not released yet.
BASE_VERSION = 0.1.0
RELEASED   = sql/released/$(EXTENSION)--$(BASE_VERSION).sql \
             $(shell ls sql/released/$(EXTENSION)--*--*.sql 2>/dev/null | sort -V)
UPGRADES   = $(shell ls sql/$(EXTENSION)--*--*.sql 2>/dev/null | sort -V)
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA       = $(RELEASED) $(UPGRADES)

# pg_regress tests: test/sql/*.sql, expected output in expected/ (which
# test/expected links to: pg_regress reads <inputdir>/sql and <inputdir>/expected)
REGRESS      = $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=pgcrypto

# libcrypto (OpenSSL 3) verifies the signed tokens of src/jwt.c
SHLIB_LINK += -lcrypto

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
EXTRA_CLEAN = results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(RELEASED) $(UPGRADES) tenantcore.control
	{ cat $(firstword $(RELEASED)); \
	  for f in $(wordlist 2,$(words $(RELEASED)),$(RELEASED)) $(UPGRADES); do echo; grep -v '^\\echo Use "ALTER EXTENSION' $$f; done; } > $@
