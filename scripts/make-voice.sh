#!/usr/bin/env bash
# Makes the kiosk's spoken prompts: one Ogg Vorbis clip per prompt and
# language under assets/voice/<lang>/, from Debian's espeak-ng (Mandarin
# voice "cmn", English "en-gb"), resampled to 16 kHz mono. The clips are
# committed; run this again after changing a sentence below, and replace
# any clip on a kiosk with a recording of the same name in
# /etc/shoumen/voice/<lang>/ (.ogg or .wav).
#
# Needs: apt-get install espeak-ng sox vorbis-tools
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/voice

# name | 中文 | English. The names are what src/voice.rs plays.
read -r -d '' PROMPTS <<'TEXT' || true
measuring|请靠近测温|Please step closer for the temperature check.
remeasure|请再测一次体温|Please measure your temperature once more.
choose_direction|请选择进门或出门|Please choose: in, or out.
ok_temperature|体温正常，请通行|Temperature normal, please go ahead.
ok|请通行|Please go ahead.
welcome_home|欢迎回家，居家隔离期间请不要外出|Welcome home. Please stay at home during your quarantine.
gate_open|门已打开|The gate is open.
no_temperature|测温设备故障，请通行|The thermometer is out of order. Please go ahead.
fever|体温异常，请到一旁等候，值班人员马上就到|Your temperature is high. Please wait to one side. The guard has been told.
expired|通行证已过期，请联系居委会|Your pass has expired. Please contact the neighbourhood committee.
not_yet_valid|通行证尚未生效，请找门岗值班人员|Your pass is not valid yet. Please see the guard on duty.
code_expired|通行码已过时，请出示手机上的实时通行码|This code is out of date. Please show the live code on your phone.
revoked|通行证已被收回，请联系居委会|This pass has been withdrawn. Please contact the committee.
quarantine_no_exit|居家隔离期间不能外出，请回家。如需就医，请联系居委会|You are under home quarantine and may not go out. Please go back home. For a doctor, contact the neighbourhood committee.
passback|此通行证刚刚使用过，请稍后再试，或找门岗值班人员|This pass was used a moment ago. Please try again shortly, or see the guard on duty.
passback_strict|此通行证显示本人已在小区内，请先出门再进门|This pass shows you as inside the compound. Please go out first.
invalid_pass|无效的通行证，请找门岗值班人员|This is not a valid pass. Please see the guard on duty.
not_this_compound|这不是本小区的通行证，来访请到门岗登记|This is not a pass of this compound. Visitors, please register at the gatehouse.
gate_fault|门口设备故障，请找门岗值班人员|The gate has a fault. Please see the guard on duty.
guard_checks|请找门岗值班人员核验通行证|Please see the guard on duty to check your pass.
call_guard|请找门岗值班人员|Please see the guard on duty.
measure_timeout|未测到体温，请靠近后重新出示通行证|No temperature taken. Please step closer and show your pass again.
close_gate|请随手关门|Please close the gate behind you.
duty_start|已签到上岗，辛苦了。下岗时请再扫一次|Signed in for duty. Thank you. Scan again when your shift ends.
duty_end|已签退，谢谢您的服务|Signed out. Thank you for your service.
TEXT

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for lang in zh_CN en; do
    mkdir -p "$out/$lang"
    rm -f "$out/$lang"/*.ogg
done
while IFS='|' read -r name zh en; do
    [ -n "$name" ] || continue
    for lang in zh_CN en; do
        if [ "$lang" = zh_CN ]; then voice=cmn; text=$zh; speed=150; else voice=en-gb; text=$en; speed=160; fi
        espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" "$text"
        # 16 kHz mono, quiet edges trimmed, normalised to -1 dBFS.
        sox "$tmp/raw.wav" -r 16000 -c 1 "$tmp/clip.wav" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -1
        oggenc -Q -q 2 -o "$out/$lang/$name.ogg" "$tmp/clip.wav"
    done
done <<< "$PROMPTS"
count=$(find "$out" -name '*.ogg' | wc -l)
bytes=$(find "$out" -name '*.ogg' -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "$count clips, $bytes bytes in $out"
