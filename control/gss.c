/*
 * abs-ctld's half of Kerberos authentication inside the TLS channel
 * (control/gss.h; the exchange is in proto/gss.h).
 */
#include "control/gss.h"
#include "proto/gss.h"
#include "proto/proto.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

/* err (PROTO_ERRLEN bytes) from a format; cut at the end if longer. */
static void __attribute__((format(printf, 2, 3)))
seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, PROTO_ERRLEN, fmt, ap);
	va_end(ap);
}

/* "ADDR:PORT" of the socket under ssl, for the log. */
static void peer_text(SSL *ssl, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char a[INET6_ADDRSTRLEN] = "?";
	int fd = SSL_get_fd(ssl);

	snprintf(buf, len, "a client");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		snprintf(buf, len, "a local client");
	}
}

/* abs-ctld's credentials: the keys of keytab (NULL: the default keytab). */
static int accept_cred(const char *keytab, gss_cred_id_t *cred, char *err)
{
	gss_key_value_element_desc el = { "keytab", keytab };
	gss_key_value_set_desc store = { 1, &el };
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	OM_uint32 maj, min;
	char text[200];

	maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
	    GSS_C_ACCEPT, keytab ? &store : GSS_C_NO_CRED_STORE, cred, NULL,
	    NULL);
	if (GSS_ERROR(maj)) {
		proto_gss_status_text(maj, min, text, sizeof text);
		seterr(err, "abs-ctld's keytab %.100s: %s",
		    keytab ? keytab : "(default)", text);
		return -1;
	}
	return 0;
}

/* Whether a keytab entry's principal is a service abs/HOST. */
static bool abs_service(const krb5_principal p)
{
	return p->length == 2 && p->data[0].length == 3 &&
	    memcmp(p->data[0].data, "abs", 3) == 0 && p->data[1].length > 0;
}

/*
 * The keytab's entries: 0 if one is a key of a service abs/HOST (the
 * principal clients ask for, README "The Kerberos path"), else -1 with
 * err naming what it holds instead.
 */
static int keytab_has_service(const char *keytab, char *err)
{
	krb5_context kc;
	krb5_keytab kt = NULL;
	krb5_kt_cursor cur;
	krb5_keytab_entry e;
	krb5_error_code ret;
	char other[120] = "", *name = NULL;
	int n = 0, found = 0;

	if ((ret = krb5_init_context(&kc)) != 0) {
		seterr(err, "keytab %.120s: Kerberos cannot start (error %ld)",
		    keytab, (long)ret);
		return -1;
	}
	if ((ret = krb5_kt_resolve(kc, keytab, &kt)) != 0 ||
	    (ret = krb5_kt_start_seq_get(kc, kt, &cur)) != 0) {
		const char *m = krb5_get_error_message(kc, ret);

		seterr(err, "keytab %.120s cannot be read: %s", keytab, m);
		krb5_free_error_message(kc, m);
		goto out;
	}
	while ((ret = krb5_kt_next_entry(kc, kt, &e, &cur)) == 0) {
		n++;
		if (abs_service(e.principal))
			found++;
		else if (!other[0] && krb5_unparse_name(kc, e.principal,
		    &name) == 0) {
			snprintf(other, sizeof other, "%s", name);
			krb5_free_unparsed_name(kc, name);
		}
		krb5_free_keytab_entry_contents(kc, &e);
	}
	krb5_kt_end_seq_get(kc, kt, &cur);
	if (ret != KRB5_KT_END) {
		const char *m = krb5_get_error_message(kc, ret);

		seterr(err, "keytab %.120s cannot be read: %s", keytab, m);
		krb5_free_error_message(kc, m);
		found = 0;
	} else if (!n) {
		seterr(err, "keytab %.120s holds no key (add abs-ctld's service "
		    "principal: kadmin -q 'ktadd -k %.60s abs/HOST')", keytab,
		    keytab);
	} else if (!found) {
		seterr(err, "keytab %.120s holds no key for a service principal "
		    "abs/HOST, which clients ask for (it holds %d, %.80s first)",
		    keytab, n, other);
	}
out:
	if (kt)
		krb5_kt_close(kc, kt);
	krb5_free_context(kc);
	return found ? 0 : -1;
}

int ctld_gss_check_keytab(const char *keytab, char *err)
{
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	OM_uint32 min;
	struct stat sb;

	if (keytab) {
		const char *path = strncmp(keytab, "FILE:", 5) == 0 ?
		    keytab + 5 : keytab;

		/* A file's own errors, as the system says them. */
		if (!strchr(keytab, ':') || path != keytab) {
			if (access(path, R_OK) < 0 || stat(path, &sb) < 0) {
				seterr(err, "keytab %.120s cannot be read: %s",
				    keytab, strerror(errno));
				return -1;
			}
			if (!S_ISREG(sb.st_mode)) {
				seterr(err, "keytab %.120s is not a regular file",
				    keytab);
				return -1;
			}
		}
		if (keytab_has_service(keytab, err) < 0)
			return -1;
	}
	if (accept_cred(keytab, &cred, err) < 0)
		return -1;
	gss_release_cred(&min, &cred);
	return 0;
}

/* The principal of a completed context as "krb:NAME"; 0 or -1 with why. */
static int identity_of(gss_name_t src, char *identity, size_t len, char *why,
    size_t whylen)
{
	gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
	OM_uint32 maj, min;
	size_t i;
	int rc = -1;

	maj = gss_display_name(&min, src, &b, NULL);
	if (GSS_ERROR(maj)) {
		snprintf(why, whylen, "the client's principal has no name");
		return -1;
	}
	if (b.length == 0 || memchr(b.value, '\0', b.length)) {
		snprintf(why, whylen, "the client's principal name is empty "
		    "or holds a NUL byte");
		goto out;
	}
	/* A name that goes into the ACL, the logs and JSON: printable. */
	for (i = 0; i < b.length; i++) {
		unsigned char c = ((unsigned char *)b.value)[i];

		if (c < 0x20 || c == 0x7f) {
			snprintf(why, whylen, "the client's principal name holds "
			    "a control character");
			goto out;
		}
	}
	if (b.length + 5 > len || b.length + 5 > PROTO_IDENTITY_MAX) {
		snprintf(why, whylen, "the client's principal name is too long "
		    "(%zu bytes)", b.length);
		goto out;
	}
	snprintf(identity, len, "krb:%.*s", (int)b.length, (const char *)b.value);
	rc = 0;
out:
	gss_release_buffer(&min, &b);
	return rc;
}

/* Send a refusal, fill err (the caller logs it); -1. */
static int refuse(SSL *ssl, const char *why, long long deadline,
    char *err)
{
	char *line = proto_auth_line("refused", "error", why);
	char werr[PROTO_ERRLEN];

	if (line) {
		/* The client is told why (it may be gone already). */
		(void)proto_tls_write(ssl, line, strlen(line), deadline, werr);
		free(line);
	}
	seterr(err, "Kerberos authentication refused: %s", why);
	return -1;
}

int ctld_gss_accept(SSL *ssl, const char *keytab, const char *first_line,
    char *identity, size_t len, char *err)
{
	long long deadline = proto_tls_now_ms() + PROTO_AUTH_TIMEOUT_MS;
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_name_t src = GSS_C_NO_NAME;
	gss_OID mech = GSS_C_NO_OID;
	gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
	struct gss_channel_bindings_struct cb;
	struct proto_auth_msg m = { 0 };
	uint8_t binding[PROTO_GSS_CB_LEN], *tok = NULL;
	size_t toklen = 0;
	char peer[80], why[PROTO_ERRLEN], text[200], *buf = NULL, *line;
	OM_uint32 maj, min, flags = 0;
	int rc = -1;

	peer_text(ssl, peer, sizeof peer);
	if (len)
		identity[0] = '\0';
	if (proto_auth_parse(first_line, strlen(first_line), &m, why) < 0)
		return refuse(ssl, why, deadline, err);
	if (strcmp(m.auth, "gssapi") != 0) {
		proto_auth_msg_free(&m);
		return refuse(ssl, "not a Kerberos (gssapi) exchange",
		    deadline, err);
	}
	if (proto_gss_bindings(ssl, binding, why) < 0) {
		rc = refuse(ssl, why, deadline, err);
		goto out;
	}
	memset(&cb, 0, sizeof cb);
	cb.initiator_addrtype = GSS_C_AF_NULLADDR;
	cb.acceptor_addrtype = GSS_C_AF_NULLADDR;
	cb.application_data.length = sizeof binding;
	cb.application_data.value = binding;
	if (accept_cred(keytab, &cred, why) < 0) {
		/* abs-ctld's own fault: said to its log in full, to the
		   client in short. */
		log_err("%s (a Kerberos client at %s)", why, peer);
		rc = refuse(ssl, "abs-ctld cannot accept Kerberos "
		    "authentication (its keytab; see its log)", deadline, err);
		goto out;
	}
	buf = malloc(PROTO_AUTH_MAX + 1);
	if (!buf) {
		rc = refuse(ssl, "out of memory", deadline, err);
		goto out;
	}
	for (;;) {
		long n;

		free(tok);
		if (proto_gss_token(&m, &tok, &toklen, why) < 0) {
			rc = refuse(ssl, why, deadline, err);
			goto out;
		}
		in.length = toklen;
		in.value = tok;
		maj = gss_accept_sec_context(&min, &ctx, cred, &in, &cb, &src,
		    &mech, &out, &flags, NULL, NULL);
		if (GSS_ERROR(maj)) {
			OM_uint32 m2;

			proto_gss_status_text(maj, min, text, sizeof text);
			gss_release_buffer(&m2, &out);
			rc = refuse(ssl, text, deadline, err);
			goto out;
		}
		if (maj == GSS_S_COMPLETE)
			break;
		if (!out.length) {
			rc = refuse(ssl, "GSSAPI asked for more without a "
			    "token to send", deadline, err);
			goto out;
		}
		line = proto_gss_line("continue", out.value, out.length, NULL);
		gss_release_buffer(&min, &out);
		if (!line) {
			rc = refuse(ssl, "out of memory", deadline, err);
			goto out;
		}
		rc = proto_tls_write(ssl, line, strlen(line), deadline, why);
		free(line);
		if (rc < 0) {
			seterr(err, "Kerberos authentication: %s", why);
			rc = -1;
			goto out;
		}
		n = proto_ssl_read_line(ssl, buf, PROTO_AUTH_MAX + 1, deadline,
		    why);
		if (n < 0) {
			seterr(err, "Kerberos authentication: %s", why);
			rc = -1;
			goto out;
		}
		proto_auth_msg_free(&m);
		if (proto_auth_parse(buf, (size_t)n, &m, why) < 0) {
			rc = refuse(ssl, why, deadline, err);
			goto out;
		}
		if (strcmp(m.auth, "gssapi") != 0) {
			rc = refuse(ssl, "a line other than \"gssapi\" in "
			    "the middle of Kerberos authentication", deadline, err);
			goto out;
		}
	}
	/* The context is complete: is it the one we asked for? */
	if (!mech || !gss_oid_equal(mech, gss_mech_krb5)) {
		gss_release_buffer(&min, &out);
		rc = refuse(ssl, "not the Kerberos 5 mechanism", deadline,
		    err);
		goto out;
	}
	/* MIT accepts a client that sent no channel bindings at all unless
	   told otherwise; only a context whose bindings were checked against
	   this TLS channel's proves the client is at the end of it. */
	if (!(flags & GSS_C_CHANNEL_BOUND_FLAG)) {
		gss_release_buffer(&min, &out);
		rc = refuse(ssl, "the Kerberos exchange is not bound to "
		    "this TLS channel (channel bindings missing)", deadline, err);
		goto out;
	}
	if (flags & GSS_C_ANON_FLAG) {
		gss_release_buffer(&min, &out);
		rc = refuse(ssl, "anonymous Kerberos principals are not "
		    "accepted", deadline, err);
		goto out;
	}
	if (!(flags & GSS_C_MUTUAL_FLAG) || !out.length) {
		gss_release_buffer(&min, &out);
		rc = refuse(ssl, "the client did not ask for mutual "
		    "authentication", deadline, err);
		goto out;
	}
	if (identity_of(src, identity, len, why, sizeof why) < 0) {
		gss_release_buffer(&min, &out);
		identity[0] = '\0';
		rc = refuse(ssl, why, deadline, err);
		goto out;
	}
	line = proto_gss_line("ok", out.value, out.length, identity);
	gss_release_buffer(&min, &out);
	if (!line) {
		identity[0] = '\0';
		rc = refuse(ssl, "out of memory", deadline, err);
		goto out;
	}
	rc = proto_tls_write(ssl, line, strlen(line), deadline, why);
	free(line);
	if (rc < 0) {
		seterr(err, "Kerberos authentication of %s: %s", identity, why);
		identity[0] = '\0';
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	proto_auth_msg_free(&m);
	free(tok);
	free(buf);
	if (ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
	if (src != GSS_C_NO_NAME)
		gss_release_name(&min, &src);
	if (cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&min, &cred);
	OPENSSL_cleanse(binding, sizeof binding);
	return rc;
}
