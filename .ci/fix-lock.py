#!/usr/bin/env python3
"""
Adds lock-file entries for the other platforms' optional binaries (e.g. @biomejs/cli-darwin-arm64).

The registry mirror reachable here does not serve them, so `npm install` leaves them out of
package-lock.json, and `npm ci` then refuses the lock as out of sync. The added entries carry the
platform (os / cpu / libc) so npm skips them on this machine without fetching anything.
Run after any `npm install` that changes the lock:  python3 .ci/fix-lock.py package-lock.json
"""
import json, re, sys
path = sys.argv[1]
d = json.load(open(path))
p = d['packages']
added = []
OS = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'sunos', 'aix', 'netbsd']
CPU = ['arm64', 'x64', 'arm', 'ia32', 'riscv64', 's390x', 'ppc64', 'loong64', 'mips64el']
for key, e in list(p.items()):
    for dep, spec in (e.get('optionalDependencies') or {}).items():
        if f'node_modules/{dep}' in p:
            continue
        parts = dep.split('/')[-1].split('-')
        os_ = [x for x in parts if x in OS]
        cpu = [x for x in parts if x in CPU]
        if not os_ or not cpu or not re.fullmatch(r'\d+\.\d+\.\d+', spec):
            print('cannot stub', dep, spec); continue
        stub = {'version': spec, 'cpu': cpu[:1], 'optional': True, 'os': os_[:1]}
        if e.get('dev'): stub['dev'] = True
        if 'musl' in parts: stub['libc'] = ['musl']
        p[f'node_modules/{dep}'] = stub
        added.append(dep)
d['packages'] = {k: p[k] for k in sorted(p, key=lambda k: (k != '', k))}
with open(path, 'w') as f:
    json.dump(d, f, indent=2); f.write('\n')
print('added', added)
