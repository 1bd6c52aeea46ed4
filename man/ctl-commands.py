#!/usr/bin/env python3
# The COMMANDS section of man/abs-ctl.1 from the request table
# (proto/requests.def): its rows' usage lines, roles and help, under the
# table's own headings. t_man fails when the page lacks a command or an
# option; run from the top of the tree to print the section again:
#   python3 man/ctl-commands.py   (paste from ".SS The operator's flow" to
#   before ".SH EXIT STATUS")
import re
src=open('proto/requests.def').read()
# strip the header comment
body=src[src.index('*/')+2:]
out=[]
pos=0
tok=re.compile(r'/\*(.*?)\*/|REQ\((.*?)\)\n', re.S)
def cstr(s):
    parts=re.findall(r'"((?:[^"\\]|\\.)*)"', s)
    return ''.join(parts)
def esc(t):
    t=t.replace('\\','\\e')
    t=t.replace('-', '\\-')
    t=re.sub(r"^'", "\\&'", t)
    t=re.sub(r'^\.', '\\&.', t)
    return t
for m in tok.finditer(body):
    if m.group(1) is not None:
        c=' '.join(m.group(1).split())
        out.append(('H',c))
        continue
    r=m.group(2)
    # split top-level args: id, "name", roles, flags, "args", usage, help
    fields=[]
    depth=0; cur=''; q=False
    for ch in r:
        if ch=='"' : q=not q
        if ch==',' and not q:
            fields.append(cur); cur=''; continue
        cur+=ch
    fields.append(cur)
    flags=fields[3]
    if 'INTERNAL' in flags: continue
    usage=cstr(fields[5]); help_=cstr(','.join(fields[6:]))
    roles=fields[2].strip()
    out.append(('R',usage,help_,roles))
# Headings as the page shows them: no file names; none for rows abs-ctl
# does not offer.
SKIP = ("A media server reports", "The handshake", "Media servers")
for o in out:
    if o[0]=="H":
        h = re.sub(r' \(control/[a-z_]+\.c\)$', '', o[1])
        h = h[0].upper() + h[1:]
        if not h.startswith(SKIP):
            print('.SS %s' % esc(h))
        continue
    words=o[1].split(' ',1)
    rest=esc(words[1]) if len(words)>1 else ''
    roles=o[3].replace('ROLE_','').replace(' | ',', ').lower().replace('any','any role')
    print('.TP')
    print(('\\fB%s\\fR %s' % (esc(words[0]), rest)).strip())
    print('(%s) %s.' % (roles, esc(o[2][0].upper()+o[2][1:])))
