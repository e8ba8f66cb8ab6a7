"""Handler names a fake runtime serves (tests only; runtimes that cannot run here).

Usage: python3 fake-handlers.py HOST_ROOT FILE...  (FILEs are host paths; globs allowed)
Reads each TOML file under HOST_ROOT with a TOML 1.0 parser (tomllib), follows containerd
`imports` (globs, relative to the importing file), and prints one handler per line: the runtimes
under containerd's CRI plugins (io.containerd.grpc.v1.cri and io.containerd.cri.v1.runtime) and
CRI-O's crio.runtime.runtimes.
"""
import glob
import os
import sys
import tomllib

root = sys.argv[1]
names = set()
seen = set()


def load(host_path):
    if host_path in seen:
        return
    seen.add(host_path)
    with open(root + host_path, 'rb') as f:
        data = tomllib.load(f)
    plugins = data.get('plugins', {})
    for plugin in ('io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.runtime'):
        names.update(plugins.get(plugin, {}).get('containerd', {}).get('runtimes', {}).keys())
    names.update(data.get('crio', {}).get('runtime', {}).get('runtimes', {}).keys())
    for pattern in data.get('imports', []):
        if not pattern.startswith('/'):
            pattern = os.path.join(os.path.dirname(host_path), pattern)
        for match in sorted(glob.glob(root + pattern)):
            load(match[len(root):])


for pattern in sys.argv[2:]:
    for match in sorted(glob.glob(root + pattern)):
        load(match[len(root):])
print('\n'.join(sorted(names)))
