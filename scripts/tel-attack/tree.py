#!/usr/bin/env python3
"""Prints the span trees of traces whose root span name matches: tree.py <traces.jsonl> <root-name-substring> [max]"""
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
by_trace = {}
for s in spans: by_trace.setdefault(s['trace_id'], []).append(s)
shown = 0
for tid, ss in by_trace.items():
    ids = {s['span_id'] for s in ss}
    roots = [s for s in ss if s.get('parent_span_id') not in ids]
    if not any(sys.argv[2] in r['name'] for r in roots): continue
    print('trace', tid)
    def show(s, depth):
        a = {k: v for k, v in s['attributes'].items() if not k.startswith('db.') and k not in ('server.port', 'network.protocol.version', 'url.scheme')}
        dur = (s['end'] - s['start']) / 1e6
        print('  ' * depth + f"{s['name']} [{dur:.1f} ms] {a}" + (f" events={[e['name'] for e in s['events']]}" if s['events'] else '') + (f" status={s.get('status_code')} {s.get('status_message','')}" if s.get('status_code') else ''))
        for c in sorted((c for c in ss if c.get('parent_span_id') == s['span_id']), key=lambda c: c['start']):
            show(c, depth + 1)
    for r in roots: show(r, 1)
    shown += 1
    if shown >= int(sys.argv[3] if len(sys.argv) > 3 else 2): break
