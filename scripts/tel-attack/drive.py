#!/usr/bin/env python3
"""Drives PHI-marked traffic at a running service; writes every marker it sent to <out>/markers.txt.
Usage: drive.py <api> <data-dir> <out-dir>"""
import concurrent.futures, glob, json, os, re, subprocess, sys, uuid
import requests

API, DATA, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
tokens = {t['name']: t for t in json.load(open(f'{DATA}/demo/tokens.json'))['tokens']}
markers = set()
log = open(f'{OUT}/drive.log', 'w')

def mark(s):
    markers.add(s); return s

def tok(name):
    return tokens[name]['token']

def call(method, path, who=None, token=None, body=None, raw=None, headers=None, note=''):
    h = {'content-type': 'application/json'}
    if who: h['Authorization'] = 'Bearer ' + tok(who)
    if token: h['Authorization'] = 'Bearer ' + token
    if method in ('POST', 'PUT', 'DELETE') and 'Idempotency-Key' not in (headers or {}):
        h['Idempotency-Key'] = str(uuid.uuid4())
    h.update(headers or {})
    r = requests.request(method, API + path, headers=h, data=raw if raw is not None else (json.dumps(body) if body is not None else None))
    log.write(f'{r.status_code} {method} {path} {note} {r.text[:300]!r}\n'); log.flush()
    if r.status_code >= 500:
        print('5xx!', r.status_code, method, path, note, r.text[:300])
    return r

P = 'northside physician'
# 1. registration with a distinctive name
name = mark('Zephyrina Quxwellington')
r = call('POST', '/patients', P, body={'homeHospital': 'northside', 'birthYear': 1931, 'sex': 'female', 'name': name},
         headers={'X-Correlation-Id': mark('ZQXCORR-Zephyrina-Quxwellington-born-1931')})
pid = r.json()['patientId']; print('patient', pid)
open(f'{OUT}/patient-ids.txt', 'a').write(pid + '\n')
# a second one, registered with a UUID correlation id, a caller traceparent+tracestate+baggage
tp_trace = uuid.uuid4().hex
r = call('POST', '/patients', P, body={'homeHospital': 'northside', 'birthYear': 1947, 'sex': 'male', 'name': mark('Quentin Zyxbottom')},
         headers={'traceparent': f'00-{tp_trace}-{uuid.uuid4().hex[:16]}-01', 'tracestate': 'zqx=' + mark('ZQXTRACESTATE'),
                  'baggage': 'patient.name=' + mark('ZQXBAGGAGE'), 'User-Agent': mark('ZQXUSERAGENT'),
                  'Referer': 'http://x/' + mark('ZQXREFERER'), 'Cookie': 'n=' + mark('ZQXCOOKIE')})
pid2 = r.json()['patientId']; open(f'{OUT}/patient-ids.txt', 'a').write(pid2 + '\n')
open(f'{OUT}/caller-trace.txt', 'w').write(tp_trace + '\n')
# a Host header carrying PHI
call('GET', f'/patients/{pid}/audit', P, headers={'Host': mark('zqxhost-zephyrina.example')}, note='host header')

# 2. entries with distinctive text and codes
code = {'system': 'http://example.org/' + mark('zqxsystem'), 'code': mark('ZQXCODE77'), 'display': mark('ZQXDISPLAY brittle asthma')}
r = call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': mark('ZQXTEXT wheezes after the Quxwell marathon')})
entry = r.json().get('entryId')
call('POST', f'/patients/{pid}/entries', P, body={'category': 'mental-health', 'code': {'system': 'http://hl7.org/fhir/sid/icd-10', 'code': 'F32.1', 'display': mark('ZQXDEPRESSION')}, 'text': mark('ZQXMHTEXT')})
call('POST', f'/patients/{pid}/entries/{entry}/amendments', P, body={'text': mark('ZQXAMENDTEXT'), 'reason': mark('ZQXAMENDREASON')})
call('POST', f'/patients/{pid}/entries/{entry}/retraction', P, body={'reason': mark('ZQXRETRACTREASON')})
r = call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': mark('ZQXTEXT2 second entry')})
# bad inputs carrying PHI
call('POST', f'/patients/{pid}/entries', P, body={'category': mark('ZQXBADCATEGORY'), 'code': code, 'text': 'x'}, note='bad category')
call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': 'x', mark('ZQXUNKNOWNPROP'): 1}, note='unknown property')
call('POST', f'/patients/{pid}/entries', P, raw='{"category":"conditions","text":"' + mark('ZQXMALFORMED') + '"', note='malformed json')
call('POST', '/patients', P, body={'homeHospital': 'northside', 'birthYear': mark('ZQXBIRTHYEAR'), 'sex': 'female', 'name': 'a'}, note='bad birthYear')
call('POST', '/patients', P, body={'homeHospital': mark('ZQXHOSPITAL'), 'birthYear': 1950, 'sex': 'female', 'name': mark('ZQXNAMEREFUSED')}, note='unknown hospital')
call('POST', '/patients', P, body={'homeHospital': 'northside', 'birthYear': 1950, 'sex': mark('ZQXSEX'), 'name': 'b'}, note='bad sex')
call('POST', '/patients', P, body={'homeHospital': 'northside', 'birthYear': 1950, 'sex': 'male', 'name': 'c\u0007' + mark('ZQXCONTROLCHAR')}, note='control char')
call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': 'x'}, headers={'Idempotency-Key': mark('ZQXIDEMKEY-Zephyrina')}, note='bad idempotency key')
call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': 'x'}, headers={'X-Correlation-Id': 'a' * 5000 + mark('ZQXLONGCORR')}, note='long correlation id')
call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': 'x'}, headers={'X-Correlation-Id': mark('ZQXCORR2') + '\u00e9\u202e'.encode('utf-8').decode('latin-1')}, note='bidi correlation id')
k = str(uuid.uuid4())
call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': mark('ZQXIDEMFIRST')}, headers={'Idempotency-Key': k})
call('POST', f'/patients/{pid}/entries', P, body={'category': 'conditions', 'code': code, 'text': mark('ZQXIDEMREUSE')}, headers={'Idempotency-Key': k}, note='key reuse 422')
# PHI in paths
call('POST', f'/patients/{mark("ZQXPATHNAME-Zephyrina")}/entries', P, body={'category': 'conditions', 'code': code, 'text': 'x'}, note='non-uuid path')
call('GET', f'/patients/{uuid.uuid4()}/audit?actor={mark("ZQXQUERYACTOR")}', P, note='unknown id')
call('GET', f'/{mark("ZQXNOROUTE-Zephyrina")}', P, note='no route')
call('GET', f'/fhir/Patient/{mark("ZQXFHIRPATH")}/$everything', P, note='fhir path')
call('GET', f'/patients/{pid}/audit/{mark("ZQXSUBPATH")}', P, note='sub path')

# 3. consents, access, break-glass, insurance
pt = subprocess.run(['./run.sh', 'token', '--data', DATA, '--hospital', 'northside', '--role', 'patient', '--subject', 'zephyrina', '--patient', pid],
                    capture_output=True, text=True).stdout.strip()
markers.add('zephyrina')
r = call('POST', f'/patients/{pid}/consents', token=pt, body={'grantee': {'kind': 'hospital', 'id': 'riverside'}, 'categories': ['conditions'], 'purposes': ['treatment'], 'actions': ['read']})
cid = r.json().get('consentId')
call('POST', f'/patients/{pid}/consents', token=pt, body={'grantee': {'kind': 'practitioner', 'id': mark('ZQXGRANTEEID')}, 'categories': ['conditions'], 'purposes': ['treatment'], 'actions': ['read']}, note='unknown grantee')
call('POST', f'/patients/{pid}/access', 'riverside physician', body={'purpose': 'treatment', 'categories': ['conditions', 'medications']})
call('POST', f'/patients/{pid}/access', 'riverside physician', body={'purpose': 'research', 'categories': ['conditions']}, note='denied')
call('POST', f'/patients/{pid}/access', 'lakeside nurse', body={'purpose': 'treatment', 'categories': [mark('ZQXACCESSCAT')]}, note='bad category')
call('POST', f'/patients/{pid}/emergency-access', 'lakeside physician', body={'reason': mark('ZQXBREAKGLASS unconscious in ward 7')})
call('PUT', f'/patients/{pid}/insurance', 'northside admin', body={'insurer': mark('ZQXINSURER Mutual'), 'policyReference': mark('ZQXPOLICY-445566'), 'validFrom': '2020-01-01T00:00:00Z', 'validUntil': '2030-01-01T00:00:00Z'})
call('POST', f'/patients/{pid}/consents/{cid}/narrow', token=pt, body={'validUntil': '2030-01-01T00:00:00Z'})
call('GET', f'/patients/{pid}/access/explain?grantee=riverside-physician&purpose=treatment&category=conditions', token=pt)
call('GET', f'/patients/{pid}/access/explain?grantee={mark("ZQXEXPLAINGRANTEE")}&purpose=treatment&category=conditions', token=pt, note='unknown grantee')
call('GET', f'/patients/{pid}/access/explain?purpose=treatment&category=conditions', 'riverside physician', note='practitioner explain (recorded)')
call('GET', f'/patients/{pid}/access/explain?purpose={mark("ZQXPURPOSE")}&category=conditions', 'riverside physician', note='bad purpose')
call('GET', f'/patients/{pid}/disclosures', token=pt)
call('GET', f'/patients/{pid}/disclosures?format=csv', token=pt)
call('GET', f'/patients/{pid}/disclosures?from={mark("ZQXFROMDATE")}', token=pt, note='bad from')
call('GET', f'/patients/{pid}/consents/fhir', token=pt)
call('GET', f'/patients/{pid}/audit?actor={mark("ZQXAUDITACTOR")}&action=access-granted', token=pt)
call('GET', f'/patients/{pid}/audit?cursor={mark("ZQXCURSOR")}', token=pt, note='bad cursor')
call('GET', f'/patients/{pid}/audit/fhir', token=pt)
call('GET', f'/patients/{pid}/verification', token=pt)
call('GET', f'/patients/{pid}/envelopes', token=pt)
call('GET', f'/fhir/Patient/{pid}/$everything', 'riverside physician')
call('GET', f'/patients/{pid}/insurance/validity?at={mark("ZQXATDATE")}', 'northside admin', note='bad at')
call('DELETE', f'/patients/{pid}/consents/{cid}', token=pt)
call('POST', '/network/practitioners', 'northside admin', body={'practitionerId': mark('northside-drzqxbone'), 'role': 'physician'})
call('POST', '/network/researchers', 'northside admin', body={'researcherId': mark('zqxresearcher'), 'institution': mark('ZQXINSTITUTE')}, note='researcher')
# a token with PHI in its claims, signed by nothing
bad = 'eyJhbGciOiJFUzI1NiJ9.' + __import__('base64').urlsafe_b64encode(json.dumps({'sub': mark('ZQXJWTSUB')}).encode()).decode().rstrip('=') + '.AAAA'
call('GET', f'/patients/{pid}/audit', token=bad, note='bad token')

# 4. FHIR import of every sample, plus a hostile bundle
samples = sorted(glob.glob('/work/shared/fhir-samples/synthea-r4/*.json'))[:8]
for s in samples:
    b = json.load(open(s))
    for e in b['entry']:
        res = e['resource']
        if res['resourceType'] == 'Patient':
            for n in res.get('name', []):
                for g in n.get('given', []): mark(g)
                mark(n['family'])
            mark(res['birthDate'])
            for i in res.get('identifier', []): mark(i['value'])
            for a in res.get('address', []):
                for l in a.get('line', []): mark(l)
            for t in res.get('telecom', []): mark(t['value'])
    r = requests.post(API + '/fhir', data=open(s, 'rb').read(), headers={'Authorization': 'Bearer ' + tok(P), 'Content-Type': 'application/fhir+json'}, timeout=600)
    log.write(f'{r.status_code} POST /fhir {os.path.basename(s)} {r.text[:200]!r}\n')
    if r.status_code >= 500: print('5xx fhir', s, r.text[:300])
b = json.load(open(samples[0]))
for e in b['entry']:
    if e['resource']['resourceType'] == 'Patient':
        e['resource']['birthDate'] = mark('ZQXBADBIRTHDATE')
        e['resource']['name'][0]['family'] = mark('Zqxfamilyname')
r = requests.post(API + '/fhir', data=json.dumps(b), headers={'Authorization': 'Bearer ' + tok(P), 'Content-Type': 'application/fhir+json'}, timeout=600)
log.write(f'{r.status_code} POST /fhir hostile {r.text[:300]!r}\n')
r = requests.post(API + '/fhir', data='{"resourceType":"Bundle","type":"' + mark('ZQXBUNDLETYPE') + '"}', headers={'Authorization': 'Bearer ' + tok(P), 'Content-Type': 'application/fhir+json'})
log.write(f'{r.status_code} POST /fhir bad type {r.text[:300]!r}\n')

# 5. concurrency on one patient: conflicts and retries
def add(i):
    return call('POST', f'/patients/{pid2}/entries', P, body={'category': 'conditions', 'code': code, 'text': mark(f'ZQXCONC{i:02d}')}).status_code
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    print('concurrent', sorted(ex.map(add, range(32))))
# the same Idempotency-Key raced
k = str(uuid.uuid4())
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    print('raced key', sorted(ex.map(lambda i: call('POST', f'/patients/{pid2}/entries', P, body={'category': 'conditions', 'code': code, 'text': mark('ZQXRACEDKEY')}, headers={'Idempotency-Key': k}).status_code, range(8))))
# forget the second patient
pt2 = subprocess.run(['./run.sh', 'token', '--data', DATA, '--hospital', 'northside', '--role', 'patient', '--subject', 'quentinzyx', '--patient', pid2], capture_output=True, text=True).stdout.strip()
markers.add('quentinzyx')
call('POST', f'/patients/{pid2}/forget', token=pt2, body={})
open(f'{OUT}/markers.txt', 'w').write('\n'.join(sorted(markers)) + '\n')
print('markers', len(markers))
