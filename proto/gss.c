/*
 * Kerberos inside the TLS channel: the exchange's lines, its I/O on the
 * channel, channel bindings and the client's half (proto/gss.h).
 */
#include "proto/gss.h"
#include "proto/proto.h"
#include "common/base64.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <jansson.h>
#include <krb5.h>
#include <openssl/err.h>


/* err (PROTO_ERRLEN bytes) from a format; cut at the end if longer. */
static void __attribute__((format(printf, 2, 3)))
seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, PROTO_ERRLEN, fmt, ap);
	va_end(ap);
}

/* Copy s into out (len bytes), each control byte or DEL as '?'. */
static void copy_shown(char *out, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

char *proto_gss_line(const char *auth, const void *token, size_t token_len,
    const char *identity)
{
	json_t *o = json_object();
	char *b64 = NULL, *s = NULL, *line = NULL;

	if (!o || json_object_set_new(o, "auth", json_string(auth)))
		goto out;
	if (identity && json_object_set_new(o, "identity", json_string(identity)))
		goto out;
	if (token && token_len) {
		if (!(b64 = malloc(B64_ENCLEN(token_len) + 1)))
			goto out;
		b64_encode(token, token_len, b64);
		if (json_object_set_new(o, "token", json_string(b64)))
			goto out;
	}
	if (!(s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)))
		goto out;
	if ((line = malloc(strlen(s) + 2)))
		sprintf(line, "%s\n", s);
out:
	free(s);
	free(b64);
	json_decref(o);
	return line;
}

int proto_gss_token(const struct proto_auth_msg *m, uint8_t **tok, size_t *len,
    char *err)
{
	size_t n = m->token ? strlen(m->token) : 0;

	*tok = NULL;
	*len = 0;
	if (n == 0) {
		seterr(err, "\"%s\" without a token", m->auth);
		return -EPROTO;
	}
	if (!(*tok = malloc(B64_DECLEN(n) + 1))) {
		seterr(err, "out of memory");
		return -ENOMEM;
	}
	if (b64_decode(m->token, n, *tok, len) < 0 || *len == 0) {
		free(*tok);
		*tok = NULL;
		*len = 0;
		seterr(err, "the token of \"%s\" is not base64", m->auth);
		return -EPROTO;
	}
	return 0;
}

/* Wait for the socket under ssl (events POLLIN/POLLOUT) until deadline. */
static int ssl_wait(SSL *ssl, short events, long long deadline, char *err)
{
	struct pollfd p = { .fd = SSL_get_fd(ssl), .events = events };

	for (;;) {
		long long left = deadline - proto_tls_now_ms();
		int n;

		if (left <= 0) {
			seterr(err, "authentication did not finish "
			    "within %d s", PROTO_AUTH_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			seterr(err, "poll: %s", strerror(errno));
			return -EIO;
		}
	}
}

/* After SSL_read/SSL_write returned n <= 0: wait and retry (1) or fail. */
static int ssl_again(SSL *ssl, int n, long long deadline, const char *what,
    char *err)
{
	int e = SSL_get_error(ssl, n);
	unsigned long q;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return ssl_wait(ssl, POLLIN, deadline, err) ?: 1;
	case SSL_ERROR_WANT_WRITE:
		return ssl_wait(ssl, POLLOUT, deadline, err) ?: 1;
	case SSL_ERROR_ZERO_RETURN:
		seterr(err, "the peer closed the connection "
		    "while authenticating");
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		if (errno == EINTR)
			return 1;
		if (errno == EAGAIN)
			return ssl_wait(ssl, POLLIN | POLLOUT, deadline, err) ?: 1;
		seterr(err, "the connection broke while "
		    "authenticating (%s: %s)", what,
		    errno ? strerror(errno) : "end of file");
		ERR_clear_error();
		return -ECONNRESET;
	default:
		q = ERR_get_error();
		seterr(err, "TLS %s failed while authenticating: %s",
		    what, q ? ERR_reason_error_string(q) ?: "unknown" : "unknown");
		ERR_clear_error();
		return -EIO;
	}
}

long proto_ssl_read_line(SSL *ssl, char *buf, size_t cap,
    long long deadline_ms, char *err)
{
	size_t len = 0;

	if (cap == 0)
		return -EMSGSIZE;
	for (;;) {
		char c;
		int n, rc;

		/* Nothing buffered in OpenSSL: wait for the socket, bounded. */
		if (!SSL_has_pending(ssl) &&
		    (rc = ssl_wait(ssl, POLLIN, deadline_ms, err)) < 0)
			return rc;
		n = SSL_read(ssl, &c, 1);
		if (n == 1) {
			if (c == '\n') {
				buf[len] = '\0';
				return (long)len;
			}
			if (len + 1 >= cap) {
				seterr(err, "authentication line "
				    "longer than %zu bytes", cap - 1);
				return -EMSGSIZE;
			}
			buf[len++] = c;
			continue;
		}
		rc = ssl_again(ssl, n, deadline_ms, "read", err);
		if (rc < 0)
			return rc;
	}
}

int proto_gss_bindings(SSL *ssl, uint8_t out[PROTO_GSS_CB_LEN], char *err)
{
	if (SSL_export_keying_material(ssl, out, PROTO_GSS_CB_LEN,
	    PROTO_GSS_CB_LABEL, strlen(PROTO_GSS_CB_LABEL), NULL, 0, 0) != 1) {
		unsigned long q = ERR_get_error();

		seterr(err, "no TLS exporter for the channel "
		    "bindings: %s", q ? ERR_reason_error_string(q) ?: "?" :
		    "no established TLS session");
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

/* One kind of status (GSS_C_GSS_CODE or GSS_C_MECH_CODE) into buf. */
static void status_append(OM_uint32 code, int type, char *buf, size_t len)
{
	OM_uint32 min, ctx = 0;
	gss_buffer_desc msg;
	size_t used = strlen(buf);

	do {
		if (GSS_ERROR(gss_display_status(&min, code, type, GSS_C_NO_OID,
		    &ctx, &msg)))
			break;
		if (used + 3 < len) {
			snprintf(buf + used, len - used, "%s%.*s", used ? "; " : "",
			    (int)msg.length, (const char *)msg.value);
			used = strlen(buf);
		}
		gss_release_buffer(&min, &msg);
	} while (ctx);
}

void proto_gss_status_text(uint32_t major, uint32_t minor, char *buf,
    size_t len)
{
	if (!len)
		return;
	buf[0] = '\0';
	/* The mechanism's words say what happened ("Ticket expired"); the
	   generic ones ("Unspecified GSS failure") only when there are none. */
	if (minor)
		status_append(minor, GSS_C_MECH_CODE, buf, len);
	/* (MIT gives some routine errors, bad bindings among them, a minor
	   status that reads "Success") */
	if (strcmp(buf, "Success") == 0)
		buf[0] = '\0';
	if (!buf[0] && GSS_ROUTINE_ERROR(major))
		status_append(GSS_ROUTINE_ERROR(major), GSS_C_GSS_CODE, buf, len);
	if (!buf[0])
		snprintf(buf, len, "GSSAPI status %#x/%#x", (unsigned)major,
		    (unsigned)minor);
	copy_shown(buf, len, buf);
}

/* The service's GSSAPI name: "abs/HOST[@REALM]" or "abs@HOST". */
static int import_service(const char *service, gss_name_t *out, char *err)
{
	gss_buffer_desc b = { strlen(service), (void *)service };
	gss_OID type = strchr(service, '/') ? (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME :
	    GSS_C_NT_HOSTBASED_SERVICE;
	OM_uint32 maj, min;
	char text[200];

	if (!*service || (!strchr(service, '/') && !strchr(service, '@'))) {
		seterr(err, "service principal \"%.60s\": give "
		    "abs/HOST or abs/HOST@REALM", service);
		return -EINVAL;
	}
	maj = gss_import_name(&min, &b, type, out);
	if (GSS_ERROR(maj)) {
		proto_gss_status_text(maj, min, text, sizeof text);
		seterr(err, "service principal \"%.60s\": %s",
		    service, text);
		return -EINVAL;
	}
	return 0;
}

/* A media server's credentials from its keytab, in a memory cache. */
static int keytab_cred(const char *keytab, const char *principal,
    gss_cred_id_t *cred, char *err)
{
	char ccname[96], text[200];
	gss_key_value_element_desc el[2];
	gss_key_value_set_desc store = { 2, el };
	gss_name_t name = GSS_C_NO_NAME;
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	OM_uint32 maj, min;
	uint32_t h = 2166136261u;
	const char *p;

	/* One cache per process and (keytab, principal): renewed from the
	   keytab when its tickets run out, never the user's own cache. */
	for (p = keytab; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (p = principal ? principal : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(ccname, sizeof ccname, "MEMORY:abs-%ld-%08x", (long)getpid(),
	    (unsigned)h);
	el[0].key = "client_keytab";
	el[0].value = keytab;
	el[1].key = "ccache";
	el[1].value = ccname;
	if (access(keytab, R_OK) < 0) {
		seterr(err, "keytab %.120s: %s", keytab,
		    strerror(errno));
		return -ENOKEY;
	}
	if (principal) {
		gss_buffer_desc b = { strlen(principal), (void *)principal };

		maj = gss_import_name(&min, &b, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
		if (GSS_ERROR(maj)) {
			proto_gss_status_text(maj, min, text, sizeof text);
			seterr(err, "principal \"%.60s\": %s",
			    principal, text);
			return -EINVAL;
		}
	}
	maj = gss_acquire_cred_from(&min, name, GSS_C_INDEFINITE, &mechs,
	    GSS_C_INITIATE, &store, cred, NULL, NULL);
	if (name != GSS_C_NO_NAME)
		gss_release_name(&min, &name);
	if (GSS_ERROR(maj)) {
		proto_gss_status_text(maj, min, text, sizeof text);
		seterr(err, "no Kerberos credentials from keytab "
		    "%.100s%s%.60s: %s", keytab, principal ? " for " : "",
		    principal ? principal : "", text);
		return -ENOKEY;
	}
	return 0;
}

/* What a failed gss_init_sec_context means to the person at the client. */
static int init_failure(OM_uint32 maj, OM_uint32 min, const char *service,
    bool first, const char *keytab, char *err)
{
	char text[200];

	proto_gss_status_text(maj, min, text, sizeof text);
	if (GSS_ROUTINE_ERROR(maj) == GSS_S_CREDENTIALS_EXPIRED ||
	    min == (OM_uint32)KRB5KRB_AP_ERR_TKT_EXPIRED) {
		seterr(err, "the Kerberos ticket has expired "
		    "(%s): %s", keytab ? "renew it from the keytab" :
		    "run kinit again", text);
		return -EKEYEXPIRED;
	}
	if (!first) {
		seterr(err, "abs-ctld's Kerberos proof for %.60s "
		    "does not verify: %s", service, text);
		return -EACCES;
	}
	if (GSS_ROUTINE_ERROR(maj) == GSS_S_NO_CRED ||
	    min == (OM_uint32)KRB5_FCC_NOFILE || min == (OM_uint32)KRB5_CC_NOTFOUND ||
	    min == (OM_uint32)KRB5_CC_NOSUPP) {
		seterr(err, "no Kerberos ticket (%s): %s",
		    keytab ? "check the keytab" : "run kinit, or give --cert", text);
		return -ENOKEY;
	}
	seterr(err, "cannot get a Kerberos ticket for %.60s: %s",
	    service, text);
	return -ENOKEY;
}

int proto_gss_client(SSL *ssl, const char *service, const char *keytab,
    const char *principal, char *err)
{
	long long deadline = proto_tls_now_ms() + PROTO_AUTH_TIMEOUT_MS;
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_name_t target = GSS_C_NO_NAME;
	gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
	struct gss_channel_bindings_struct cb;
	struct proto_auth_msg m = { 0 };
	uint8_t binding[PROTO_GSS_CB_LEN], *tok = NULL;
	size_t toklen = 0;
	OM_uint32 maj, min, flags = 0;
	char *line = NULL, *buf = NULL, shown[sizeof m.error];
	bool ok, cont;
	int rc;

	if (!service || !*service) {
		seterr(err, "no service principal (abs/HOST)");
		return -EINVAL;
	}
	rc = proto_gss_bindings(ssl, binding, err);
	if (rc < 0)
		return rc;
	memset(&cb, 0, sizeof cb);
	cb.initiator_addrtype = GSS_C_AF_NULLADDR;
	cb.acceptor_addrtype = GSS_C_AF_NULLADDR;
	cb.application_data.length = sizeof binding;
	cb.application_data.value = binding;
	if ((rc = import_service(service, &target, err)) < 0)
		goto out;
	if (keytab && (rc = keytab_cred(keytab, principal, &cred, err)) < 0)
		goto out;
	buf = malloc(PROTO_AUTH_MAX + 1);
	if (!buf) {
		seterr(err, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	maj = gss_init_sec_context(&min, cred, &ctx, target,
	    (gss_OID)gss_mech_krb5, GSS_C_MUTUAL_FLAG, 0, &cb, GSS_C_NO_BUFFER,
	    NULL, &out, &flags, NULL);
	if (GSS_ERROR(maj)) {
		rc = init_failure(maj, min, service, true, keytab, err);
		goto out;
	}
	for (;;) {
		long n;

		if (!out.length) {
			seterr(err, "GSSAPI gave no token to send");
			rc = -EPROTO;
			goto out;
		}
		/* A token for abs-ctld; it answers every one. */
		line = proto_gss_line("gssapi", out.value, out.length, NULL);
		gss_release_buffer(&min, &out);
		if (!line) {
			seterr(err, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		rc = proto_tls_write(ssl, line, strlen(line), deadline, err);
		free(line);
		line = NULL;
		if (rc < 0)
			goto out;
		n = proto_ssl_read_line(ssl, buf, PROTO_AUTH_MAX + 1, deadline,
		    err);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		proto_auth_msg_free(&m);
		if ((rc = proto_auth_parse(buf, (size_t)n, &m, err)) < 0) {
			char why[PROTO_ERRLEN];

			memcpy(why, err, sizeof why);
			seterr(err, "abs-ctld's answer: %s", why);
			goto out;
		}
		if (strcmp(m.auth, "refused") == 0) {
			/* (the server's words reach a terminal: no controls) */
			copy_shown(shown, sizeof shown, m.error[0] ? m.error :
			    "no reason given");
			seterr(err, "abs-ctld refused Kerberos "
			    "authentication: %s", shown);
			rc = -EACCES;
			goto out;
		}
		ok = strcmp(m.auth, "ok") == 0;
		cont = strcmp(m.auth, "continue") == 0;
		if (ok && maj == GSS_S_COMPLETE && !m.token)
			break;
		/* Anything else must carry the next token of an exchange
		   that is not complete: "ok" with abs-ctld's proof, or
		   "continue". An "ok" without the proof is refused: the
		   server has not shown it holds the service's key. */
		if ((!ok && !cont) || maj != GSS_S_CONTINUE_NEEDED || !m.token) {
			seterr(err, "abs-ctld's answer does not "
			    "follow the Kerberos exchange (\"%s\" %s a token%s)",
			    m.auth, m.token ? "with" : "without",
			    maj == GSS_S_COMPLETE ? " after it completed" : "");
			rc = -EPROTO;
			goto out;
		}
		free(tok);
		if ((rc = proto_gss_token(&m, &tok, &toklen, err)) < 0)
			goto out;
		in.length = toklen;
		in.value = tok;
		maj = gss_init_sec_context(&min, cred, &ctx, target,
		    (gss_OID)gss_mech_krb5, GSS_C_MUTUAL_FLAG, 0, &cb, &in, NULL,
		    &out, &flags, NULL);
		if (GSS_ERROR(maj)) {
			rc = init_failure(maj, min, service, false, keytab, err);
			goto out;
		}
		if (ok) {
			if (maj != GSS_S_COMPLETE || out.length) {
				gss_release_buffer(&min, &out);
				seterr(err, "abs-ctld said \"ok\" "
				    "before Kerberos authentication completed");
				rc = -EPROTO;
				goto out;
			}
			break;
		}
	}
	if (!(flags & GSS_C_MUTUAL_FLAG)) {
		seterr(err, "abs-ctld did not prove it holds "
		    "the key of %.60s (no mutual authentication)", service);
		rc = -EACCES;
		goto out;
	}
	rc = 0;
out:
	proto_auth_msg_free(&m);
	free(tok);
	free(buf);
	gss_release_buffer(&min, &out);
	if (ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
	if (cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&min, &cred);
	if (target != GSS_C_NO_NAME)
		gss_release_name(&min, &target);
	OPENSSL_cleanse(binding, sizeof binding);
	return rc;
}
