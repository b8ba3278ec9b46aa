#!/usr/bin/env python3
"""Concurrent entries on one patient (optimistic-concurrency conflicts). Usage: conflicts.py <api> <data-dir> <out-dir>"""
import concurrent.futures, json, sys, uuid
import requests
API, DATA, OUT = sys.argv[1:4]
tok = next(t['token'] for t in json.load(open(f'{DATA}/demo/tokens.json'))['tokens'] if t['name'] == 'northside physician')
h = {'content-type': 'application/json', 'Authorization': 'Bearer ' + tok}
pid = requests.post(API + '/patients', headers=h, json={'homeHospital': 'northside', 'birthYear': 1931, 'sex': 'female', 'name': 'Zephyrina Quxwellington'}).json()['patientId']
open(f'{OUT}/patient-ids.txt', 'w').write(pid + '\n')
open(f'{OUT}/markers.txt', 'w').write('Zephyrina Quxwellington\nZQXCONFLICT\n')
def add(i):
    return requests.post(API + f'/patients/{pid}/entries', headers=h, json={'category': 'conditions', 'code': {'system': 'http://hl7.org/fhir/sid/icd-10', 'code': 'J45'}, 'text': f'ZQXCONFLICT {i}'}).status_code
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    print(pid, sorted(ex.map(add, range(48))))
