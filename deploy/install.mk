# `make install`: included by the top-level Makefile.
#
#     make && make install                 # as root, on the server
#     make install DESTDIR=/tmp/stage      # staged, e.g. for a package
#
# Every directory below can be changed on the command line
# (make install PREFIX=/usr ...). The installed files name the real
# directories (without DESTDIR): the nginx site, the systemd units, the
# cron file and abri.env are generated from their .in templates.
#
# Files an administrator edits are never overwritten: abri.env, the nginx
# site and the cron file are written only where they do not exist yet;
# otherwise the new version goes beside them with the suffix .dist.
# Everything else (programs, pages, units, the included nginx files) is
# abri's own and is replaced at each upgrade.
#
# Run as root without DESTDIR, it also creates the user abri and the
# group abri-web with nginx's user in it (systemd-sysusers), /var/lib/abri
# and /run/abri-admin (systemd-tmpfiles), and reloads systemd. It starts nothing: see docs/install.md for the next steps.

PREFIX ?= /usr/local
DESTDIR ?=

# abri_statedir is also the units' StateDirectory=abri: change both or neither.

abri_sbindir     ?= $(PREFIX)/sbin
abri_libexecdir  ?= /usr/lib/abri
abri_datadir     ?= $(PREFIX)/share/abri
abri_sysconfdir  ?= /etc/abri
abri_statedir    ?= /var/lib/abri
abri_rundir      ?= /run/abri
abri_admindir    ?= /run/abri-admin
abri_unitdir     ?= /etc/systemd/system
abri_sysusersdir ?= /etc/sysusers.d
abri_tmpfilesdir ?= /etc/tmpfiles.d
abri_crondir     ?= /etc/cron.d
abri_nginxdir    ?= /etc/nginx
abri_nginxlogdir ?= /var/log/nginx
abri_acmedir     ?= /var/www/acme

# nginx's workers' user: the only member of abri-web, the group of the
# FastCGI sockets (abri.sysusers.conf).
ABRI_NGINX_USER ?= www-data

# What the nginx site says until the administrator fills it in: Debian's
# self-signed certificate (package ssl-cert) lets nginx start at once.
ABRI_SERVER_NAME ?= _
ABRI_TLS_CERT    ?= /etc/ssl/certs/ssl-cert-snakeoil.pem
ABRI_TLS_KEY     ?= /etc/ssl/private/ssl-cert-snakeoil.key

# The programs `make` built ($(BIN) of the top-level Makefile: bin/, or
# bin/san/ with SANITIZE=1).
abri_bin := $(or $(BIN),bin)
ABRI_INSTALL_PROGRAMS := $(abri_bin)/session $(abri_bin)/messages $(abri_bin)/agent $(abri_bin)/admin $(abri_bin)/purge

# Turns a template into the installed file, with the real paths.
abri_subst = sed \
	-e 's|@RUN@|$(abri_rundir)|g' \
	-e 's|@RUNDIR@|$(abri_rundir)|g' \
	-e 's|@ADMIN@|$(abri_admindir)|g' \
	-e 's|@NGINX_USER@|$(ABRI_NGINX_USER)|g' \
	-e 's|@WWW@|$(abri_datadir)/www|g' \
	-e 's|@CONF@|$(abri_datadir)/nginx|g' \
	-e 's|@DATADIR@|$(abri_datadir)|g' \
	-e 's|@LIBEXECDIR@|$(abri_libexecdir)|g' \
	-e 's|@SYSCONFDIR@|$(abri_sysconfdir)|g' \
	-e 's|@STATEDIR@|$(abri_statedir)|g' \
	-e 's|@CRONDIR@|$(abri_crondir)|g' \
	-e 's|@SITE@|$(abri_nginxdir)/sites-available/abri|g' \
	-e 's|@LOG@|$(abri_nginxlogdir)|g' \
	-e 's|@ACME@|$(abri_acmedir)|g' \
	-e 's|@SERVER_NAME@|$(ABRI_SERVER_NAME)|g' \
	-e 's|@TLS_CERT@|$(ABRI_TLS_CERT)|g' \
	-e 's|@TLS_KEY@|$(ABRI_TLS_KEY)|g'

# The plain-CGI variant of abri-http.conf and abri-locations.conf
# (docs/install.md): every `fastcgi_pass unix:@RUN@/NAME.sock;` becomes
# SCRIPT_FILENAME @LIBEXECDIR@/NAME passed to fcgiwrap's socket, and so
# does the program chosen by a variable (the map of /api/session).
abri_cgi_sed = sed \
	-e 's!^\([[:space:]]*\)fastcgi_pass unix:@RUN@/\([a-z]*\)\.sock;!\1fastcgi_param SCRIPT_FILENAME @LIBEXECDIR@/\2;\n\1fastcgi_pass @CGI_PASS@;!' \
	-e 's!unix:@RUN@/\([a-z]*\)\.sock;!@LIBEXECDIR@/\1;!' \
	-e 's!^\([[:space:]]*\)fastcgi_pass \($$[a-z_]*\);!\1fastcgi_param SCRIPT_FILENAME \2;\n\1fastcgi_pass @CGI_PASS@;!' \
	-e 's!@CGI_PASS@!unix:@RUN@/cgi.sock!'

# $(call abri_gen,TEMPLATE,DEST,MODE[,FILTER]): generate, refuse a leftover
# @NAME@. FILTER, if given, is applied to the template first.
define abri_gen
	@echo '  GEN   $(patsubst $(DESTDIR)%,%,$(2))'
	@$(or $(4),cat) '$(1)' | $(abri_subst) > '$(2).tmp'
	@if grep -n '@[A-Z_]*@' '$(2).tmp'; then \
		echo "install: $(1): placeholder left unsubstituted" >&2; rm -f '$(2).tmp'; exit 1; fi
	@chmod $(3) '$(2).tmp'
	@mv -f '$(2).tmp' '$(2)'
endef

# $(call abri_conf,TEMPLATE,DEST,MODE): like abri_gen, but keeps an
# existing DEST that differs and writes DEST.dist beside it.
define abri_conf
	$(call abri_gen,$(1),$(2).new,$(3))
	@if [ -e '$(2)' ] && ! cmp -s '$(2)' '$(2).new'; then \
		mv -f '$(2).new' '$(2).dist'; \
		echo "install: kept your $(patsubst $(DESTDIR)%,%,$(2)); the new version is $(patsubst $(DESTDIR)%,%,$(2)).dist"; \
	else mv -f '$(2).new' '$(2)'; fi
endef

# $(call abri_tree,SRC,DEST[,SKIP]): replace DEST by a copy of SRC but its
# folder SKIP, files 0644, directories 0755 (the old tree goes only once
# the new one is complete).
define abri_tree
	rm -rf '$(2).new'
	install -d -m 0755 '$(2).new'
	cd '$(1)' && find . $(if $(3),-path './$(3)' -prune -o) -type d ! -name . -exec install -d -m 0755 '$(abspath $(2)).new/{}' ';'
	cd '$(1)' && find . $(if $(3),-path './$(3)' -prune -o) -type f -exec install -m 0644 '{}' '$(abspath $(2)).new/{}' ';'
	rm -rf '$(2).old'
	if [ -e '$(2)' ]; then mv '$(2)' '$(2).old'; fi
	mv '$(2).new' '$(2)'
	rm -rf '$(2).old'
endef

.PHONY: install
install: $(ABRI_INSTALL_PROGRAMS) $(abri_bin)/abrictl
	@case '$(abri_datadir)' in */abri) ;; *) \
		echo "install: abri_datadir must end in /abri (it is replaced whole)" >&2; exit 1;; esac
	install -d -m 0755 '$(DESTDIR)$(abri_libexecdir)' '$(DESTDIR)$(abri_sbindir)' \
		'$(DESTDIR)$(abri_datadir)/nginx' '$(DESTDIR)$(abri_sysconfdir)' \
		'$(DESTDIR)$(abri_unitdir)' '$(DESTDIR)$(abri_sysusersdir)' \
		'$(DESTDIR)$(abri_tmpfilesdir)' '$(DESTDIR)$(abri_crondir)' \
		'$(DESTDIR)$(abri_nginxdir)/sites-available' '$(DESTDIR)$(abri_nginxdir)/modules-enabled' \
		'$(DESTDIR)$(abri_acmedir)'
	install -d -m 0700 '$(DESTDIR)$(abri_statedir)'
	install -m 0755 $(ABRI_INSTALL_PROGRAMS) '$(DESTDIR)$(abri_libexecdir)/'
	install -m 0755 $(abri_bin)/abrictl '$(DESTDIR)$(abri_libexecdir)/abrictl'
	$(call abri_gen,deploy/abrictl.in,$(DESTDIR)$(abri_sbindir)/abrictl,0755)
	$(call abri_tree,www,$(DESTDIR)$(abri_datadir)/www,lang)
	$(call abri_tree,sql,$(DESTDIR)$(abri_datadir)/sql)
	$(call abri_gen,deploy/nginx/abri-http.conf.in,$(DESTDIR)$(abri_datadir)/nginx/abri-http.conf,0644)
	$(call abri_gen,deploy/nginx/abri-locations.conf.in,$(DESTDIR)$(abri_datadir)/nginx/abri-locations.conf,0644)
	$(call abri_gen,deploy/nginx/abri-http.conf.in,$(DESTDIR)$(abri_datadir)/nginx/abri-http-cgi.conf,0644,$(abri_cgi_sed))
	$(call abri_gen,deploy/nginx/abri-locations.conf.in,$(DESTDIR)$(abri_datadir)/nginx/abri-locations-cgi.conf,0644,$(abri_cgi_sed))
	install -m 0644 deploy/nginx/abri-fastcgi-params.conf '$(DESTDIR)$(abri_datadir)/nginx/'
	install -m 0644 deploy/nginx/abri-main.conf '$(DESTDIR)$(abri_nginxdir)/modules-enabled/50-abri.conf'
	$(call abri_conf,deploy/nginx/abri.conf.in,$(DESTDIR)$(abri_nginxdir)/sites-available/abri,0644)
	$(call abri_gen,deploy/systemd/abri@.socket.in,$(DESTDIR)$(abri_unitdir)/abri@.socket,0644)
	$(call abri_gen,deploy/systemd/abri@.service.in,$(DESTDIR)$(abri_unitdir)/abri@.service,0644)
	$(call abri_gen,deploy/systemd/abri-purge.service.in,$(DESTDIR)$(abri_unitdir)/abri-purge.service,0644)
	$(call abri_gen,deploy/systemd/abri-purge.timer,$(DESTDIR)$(abri_unitdir)/abri-purge.timer,0644)
	$(call abri_gen,deploy/systemd/abri-cgi.socket.in,$(DESTDIR)$(abri_unitdir)/abri-cgi.socket,0644)
	$(call abri_gen,deploy/systemd/abri-cgi.service.in,$(DESTDIR)$(abri_unitdir)/abri-cgi.service,0644)
	$(call abri_gen,deploy/systemd/abri.sysusers.conf.in,$(DESTDIR)$(abri_sysusersdir)/abri.conf,0644)
	$(call abri_gen,deploy/systemd/abri.tmpfiles.conf.in,$(DESTDIR)$(abri_tmpfilesdir)/abri.conf,0644)
	$(call abri_conf,deploy/systemd/abri.env.in,$(DESTDIR)$(abri_sysconfdir)/abri.env,0644)
	$(call abri_conf,deploy/cron/abri.in,$(DESTDIR)$(abri_crondir)/abri,0644)
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" = 0 ]; then \
		set -e; \
		systemd-sysusers '$(abri_sysusersdir)/abri.conf'; \
		systemd-tmpfiles --create '$(abri_tmpfilesdir)/abri.conf'; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "install: done. Next: docs/install.md (first install) or 'abrictl init' then"; \
		echo "         systemctl restart 'abri@*.service' (upgrade)."; \
	fi
