"""Convert the WHO 2006 LMS tables shipped by pygrowup 0.8.2 to book/data/who_growth.tsv."""
import json, hashlib, sys
src = sys.argv[1]; tar = sys.argv[2]
sha = hashlib.sha256(open(tar, 'rb').read()).hexdigest()
tables = [
  ('wfa', 'wfa_{}_0_5_zscores.json', 'Month'),
  ('lfa', 'lhfa_{}_0_2_zscores.json', 'Month'),
  ('hfa', 'lhfa_{}_2_5_zscores.json', 'Month'),
  ('wfl', 'wfl_{}_0_2_zscores.json', 'Length'),
  ('wfh', 'wfh_{}_2_5_zscores.json', 'Height'),
  ('bfl', 'bmifa_{}_0_2_zscores.json', 'Month'),
  ('bfh', 'bmifa_{}_2_5_zscores.json', 'Month'),
]
out = []
out.append('# WHO Child Growth Standards 2006: the LMS parameters of the z-score tables (Box-Cox power L,')
out.append('# median M, coefficient of variation S), as published by WHO (www.who.int/tools/child-growth-standards)')
out.append('# and shipped unchanged in the PyPI package pygrowup 0.8.2 (UNICEF, BSD licence),')
out.append(f'# pygrowup-0.8.2.tar.gz sha256 {sha}, obtained with `pip download pygrowup==0.8.2`.')
out.append('# Converted by crates/book/data/who_growth.py (column values copied as text, no rounding).')
out.append('# table: wfa weight-for-age (months 0-60, kg); lfa length-for-age (0-24, cm, lying);')
out.append('#   hfa height-for-age (24-60, cm, standing); wfl weight-for-length (45-110 cm by 0.5, kg);')
out.append('#   wfh weight-for-height (65-120 cm by 0.5, kg); bfl BMI-for-age 0-24 months (length);')
out.append('#   bfh BMI-for-age 24-60 months (height). sex: 1 boys, 2 girls (QĐ 130 GIOI_TINH).')
out.append('# x: age in completed months, or length/height in cm. Source files: ' + ', '.join(t[1].format('{boys,girls}') for t in tables))
out.append('# table\tsex\tx\tL\tM\tS')
for name, pat, key in tables:
    for sex, word in (('1', 'boys'), ('2', 'girls')):
        rows = json.load(open(f'{src}/{pat.format(word)}'))
        for r in rows:
            out.append('\t'.join([name, sex, r[key], r['L'], r['M'], r['S']]))
open('who_growth.tsv', 'w').write('\n'.join(out) + '\n')
print(len(out))
