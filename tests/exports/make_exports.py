"""Write the foreign-shaped export corpus (issue 11) from the literal rows typed below.

Each export is shaped like what one system really prints (sources: docs/vocabularies.md), small
enough to work out its reading by hand (tests/exports/EXPECTED.md). Names are synthetic, NHS
numbers are from the 999 test range. Deterministic: `python -m tests.exports.make_exports` rewrites
every file byte for byte (xlsx zip and document timestamps are pinned).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent
#: openpyxl stamps zip entries and docProps with "now"; pinned so the files do not churn.
PINNED = datetime(2026, 11, 30, 14, 0, 0)

# --- 1. SystmOne "Appointments" report, CSV (UTF-8 with BOM) ------------------------------------
# Header exactly as SystmOne prints it (the public access-es report, ACCESS_Oct_25.csv).
SYSTMONE_HEADER = [
    "Appointment date", "Appointment duration (actual)", "Appointment duration (booked)",
    "Appointment flags", "Appointment location", "Appointment status",
    "Appointment waiting time (absolute)", "Appointment waiting time (calculated)", "Clinician",
    "Rota start date", "Rota start time", "Rota type", "Time between booking and appointment",
    "Patient ID", "Patient Count",
]
_CH, _CP, _SP, _DUTY = ("Westmoor CAMHS Choice", "Westmoor CAMHS Partnership",
                        "Westmoor CAMHS Specific Partnership - ADOS", "Westmoor CAMHS Duty")
_OKONJO, _MCDONALD, _KELLY = "OKONJO, Amara (Dr)", "MCDONALD, Ross (Mr)", "KELLY, Siobhán (Ms)"
_LOC = "Westmoor Clinic"
SYSTMONE_CSV_ROWS = [
    # Choice: 3 Finished, 1 DNA, 1 cancelled by patient, 1 cancelled by unit
    ["06-Oct-26", "55m", "1h", "Appointment Confirmed", _LOC, "Finished", "5m", "0m", _OKONJO,
     "06-Oct-26", "09:00", _CH, "2wks 1d", "71000101", "1"],
    ["06-Oct-26", "", "1h", "Appointment Confirmed", _LOC, "Did Not Attend", "0m", "0m", _OKONJO,
     "06-Oct-26", "09:00", _CH, "3wks", "71000102", "1"],
    ["13-Oct-26", "1h 2m", "1h", "", _LOC, "Finished", "3m", "0m", _KELLY,
     "13-Oct-26", "09:00", _CH, "1wks 2d", "71000103", "1"],
    ["20-Oct-26", "", "1h", "SMS Reminder Sent", _LOC, "Cancelled by Patient", "0m", "0m", _KELLY,
     "20-Oct-26", "09:00", _CH, "2wks", "71000104", "1"],
    ["03-Nov-26", "58m", "1h", "Appointment Confirmed", _LOC, "Finished", "12m", "2m", _OKONJO,
     "03-Nov-26", "09:00", _CH, "1wks 3d", "71000105", "1"],
    ["10-Nov-26", "", "1h", "", _LOC, "Cancelled by Unit", "0m", "0m", _OKONJO,
     "10-Nov-26", "09:00", _CH, "2wks 2d", "71000106", "1"],
    # Core Partnership: 6 flagged Initial Appointment (new), 6 not (follow-up)
    ["07-Oct-26", "1h 28m", "1h 30m", "Appointment Confirmed, Initial Appointment", _LOC,
     "Finished", "4m", "0m", _MCDONALD, "07-Oct-26", "14:00", _CP, "3wks 2d", "71000101", "1"],
    ["14-Oct-26", "1h 25m", "1h 30m", "Appointment Confirmed", _LOC, "Finished", "2m", "0m",
     _MCDONALD, "14-Oct-26", "14:00", _CP, "1wks", "71000101", "1"],
    ["21-Oct-26", "", "1h 30m", "Appointment Confirmed", _LOC, "Did Not Attend", "0m", "0m",
     _MCDONALD, "21-Oct-26", "14:00", _CP, "1wks", "71000101", "1"],
    ["08-Oct-26", "1h 30m", "1h 30m", "Initial Appointment, SMS Reminder Sent", _LOC, "Finished",
     "6m", "1m", _KELLY, "08-Oct-26", "10:00", _CP, "4d 22h", "71000103", "1"],
    ["15-Oct-26", "", "1h 30m", "Initial Appointment", _LOC, "Patient Walked Out", "25m", "15m",
     _KELLY, "15-Oct-26", "10:00", _CP, "1wks", "71000107", "1"],
    ["22-Oct-26", "1h 20m", "1h 30m", "Appointment Confirmed, Interpreter Required", _LOC,
     "Finished", "3m", "0m", _KELLY, "22-Oct-26", "10:00", _CP, "2wks", "71000103", "1"],
    ["04-Nov-26", "", "1h 30m", "Appointment Confirmed, Initial Appointment", _LOC,
     "Did Not Attend", "0m", "0m", _MCDONALD, "04-Nov-26", "14:00", _CP, "2wks 3d", "71000105",
     "1"],
    ["11-Nov-26", "1h 30m", "1h 30m", "Appointment Confirmed, Initial Appointment", _LOC,
     "Finished", "1m", "0m", _MCDONALD, "11-Nov-26", "14:00", _CP, "1wks", "71000105", "1"],
    ["18-Nov-26", "", "1h 30m", "Appointment Confirmed", _LOC, "Cancelled by Unit", "0m", "0m",
     _KELLY, "18-Nov-26", "10:00", _CP, "3wks", "71000103", "1"],
    ["25-Nov-26", "", "1h 30m", "", _LOC, "Arrived", "40m", "0m", _MCDONALD,
     "25-Nov-26", "14:00", _CP, "1wks", "71000101", "1"],
    ["02-Dec-26", "", "1h 30m", "Appointment Confirmed, Initial Appointment", _LOC, "Booked",
     "", "", _KELLY, "02-Dec-26", "10:00", _CP, "2wks", "71000108", "1"],
    ["09-Dec-26", "", "1h 30m", "", _LOC, "Booked", "", "", _MCDONALD,
     "09-Dec-26", "14:00", _CP, "3d 4h", "71000101", "1"],
    # Specific (ADOS): 1 new, 2 follow-up
    ["16-Oct-26", "2h 55m", "3h", "Appointment Confirmed, Initial Appointment", _LOC, "Finished",
     "0m", "0m", _OKONJO, "16-Oct-26", "13:00", _SP, "6wks", "71000109", "1"],
    ["30-Oct-26", "2h 40m", "3h", "Appointment Confirmed", _LOC, "Finished", "9m", "0m", _OKONJO,
     "30-Oct-26", "13:00", _SP, "2wks", "71000109", "1"],
    ["13-Nov-26", "", "3h", "Appointment Confirmed", _LOC, "Cancelled by Patient", "0m", "0m",
     _OKONJO, "13-Nov-26", "13:00", _SP, "2wks", "71000109", "1"],
    # Duty: no CAPA kind (listed)
    ["09-Oct-26", "25m", "30m", "Telephone Appointment", _LOC, "Finished", "0m", "0m", _KELLY,
     "09-Oct-26", "16:00", _DUTY, "0m", "71000110", "1"],
    ["23-Oct-26", "30m", "30m", "Telephone Appointment", _LOC, "Finished", "0m", "0m", _MCDONALD,
     "23-Oct-26", "16:00", _DUTY, "2h 30m", "71000111", "1"],
    ["06-Nov-26", "", "30m", "Telephone Appointment", _LOC, "Did Not Attend", "0m", "0m", _OKONJO,
     "06-Nov-26", "16:00", _DUTY, "1d 2h", "71000112", "1"],
]

# --- 2. SystmOne "Appointments" report as printed to XLSX ---------------------------------------
_CH2, _CP2, _SP2, _CONS = ("CAMHS Choice Clinic", "CAMHS Core Partnership",
                           "CAMHS Specific - Psychometrics", "CAMHS Consultation Clinic")
_HARTLEY, _NAIR, _PRYCE = "HARTLEY, Ben (Dr)", "NAIR, Priya (Mrs)", "PRYCE, Tom (Mr)"
_LOC2 = "Westmoor Clinic - Room 3"
SYSTMONE_XLSX_TITLE = [
    ["Appointments"],
    ["Westmoor CAMHS"],
    ["Report run on 30 Nov 2026 14:02"],
    ["Search: Rota type is one of CAMHS Choice Clinic, CAMHS Core Partnership, CAMHS Specific - "
     "Psychometrics, CAMHS Consultation Clinic; Appointment date from 01 Nov 2026"],
    [],
]


def _d(day: int, month: int) -> datetime:
    return datetime(2026, month, day)


SYSTMONE_XLSX_ROWS = [
    # Choice: 2 Finished, 1 DNA, 1 cancelled by unit, 1 by patient, 1 Booked
    [_d(2, 11), "58m", "1h", "Appointment Confirmed", _LOC2, "Finished", "4m", "0m", _HARTLEY,
     _d(2, 11), "09:00", _CH2, "2wks", "72000201", 1],
    [_d(2, 11), "", "1h", "Appointment Confirmed", _LOC2, "Did Not Attend", "0m", "0m", _HARTLEY,
     _d(2, 11), "09:00", _CH2, "3wks 1d", "72000202", 1],
    [_d(9, 11), "1h", "1h", "", _LOC2, "Finished", "2m", "0m", _NAIR,
     _d(9, 11), "09:00", _CH2, "1wks 4d", "72000203", 1],
    [_d(16, 11), "", "1h", "", _LOC2, "Cancelled by Unit", "0m", "0m", _NAIR,
     _d(16, 11), "09:00", _CH2, "2wks", "72000204", 1],
    [_d(23, 11), "", "1h", "SMS Reminder Sent", _LOC2, "Cancelled by Patient", "0m", "0m",
     _HARTLEY, _d(23, 11), "09:00", _CH2, "1wks", "72000205", 1],
    [_d(7, 12), "", "1h", "Appointment Confirmed", _LOC2, "Booked", "", "", _NAIR,
     _d(7, 12), "09:00", _CH2, "2wks", "72000206", 1],
    # Core Partnership: 5 Initial Appointment (new), 6 not (follow-up)
    [_d(3, 11), "1h 26m", "1h 30m", "Initial Appointment", _LOC2, "Finished", "1m", "0m", _PRYCE,
     _d(3, 11), "13:30", _CP2, "4wks", "72000201", 1],
    [_d(10, 11), "1h 30m", "1h 30m", "Appointment Confirmed", _LOC2, "Finished", "0m", "0m",
     _PRYCE, _d(10, 11), "13:30", _CP2, "1wks", "72000201", 1],
    [_d(17, 11), "", "1h 30m", "Appointment Confirmed, Appointment Rebooked", _LOC2,
     "Did Not Attend", "0m", "0m", _PRYCE, _d(17, 11), "13:30", _CP2, "1wks", "72000201", 1],
    [_d(4, 11), "1h 30m", "1h 30m", "Appointment Confirmed, Initial Appointment", _LOC2,
     "Finished", "7m", "3m", _HARTLEY, _d(4, 11), "13:30", _CP2, "3wks", "72000207", 1],
    [_d(11, 11), "", "1h 30m", "Appointment Confirmed", _LOC2, "In Progress", "0m", "0m",
     _HARTLEY, _d(11, 11), "13:30", _CP2, "1wks", "72000207", 1],
    [_d(18, 11), "1h 29m", "1h 30m", "", _LOC2, "Finished", "0m", "0m", _HARTLEY,
     _d(18, 11), "13:30", _CP2, "1wks", "72000207", 1],
    [_d(5, 11), "", "1h 30m", "Initial Appointment", _LOC2, "Cancelled by Patient", "0m", "0m",
     _NAIR, _d(5, 11), "13:30", _CP2, "3wks", "72000208", 1],
    [_d(12, 11), "1h 30m", "1h 30m", "Initial Appointment, SMS Reminder Sent", _LOC2, "Finished",
     "2m", "0m", _NAIR, _d(12, 11), "13:30", _CP2, "1wks", "72000208", 1],
    [_d(26, 11), "", "1h 30m", "Appointment Confirmed", _LOC2, "Waiting", "10m", "0m", _NAIR,
     _d(26, 11), "13:30", _CP2, "2wks", "72000208", 1],
    [_d(1, 12), "", "1h 30m", "Appointment Confirmed, Initial Appointment", _LOC2, "Booked", "",
     "", _PRYCE, _d(1, 12), "13:30", _CP2, "2wks", "72000209", 1],
    [_d(8, 12), "", "1h 30m", "Appointment Confirmed", _LOC2, "Booked", "", "", _HARTLEY,
     _d(8, 12), "13:30", _CP2, "3wks", "72000207", 1],
    # Specific (Psychometrics): 1 new, 1 follow-up
    [_d(19, 11), "2h", "2h", "Initial Appointment", _LOC2, "Finished", "0m", "0m", _NAIR,
     _d(19, 11), "10:00", _SP2, "4wks", "72000210", 1],
    [_d(3, 12), "", "2h", "Appointment Confirmed", _LOC2, "Booked", "", "", _NAIR,
     _d(3, 12), "10:00", _SP2, "2wks", "72000210", 1],
    # Consultation clinic: no CAPA kind (listed)
    [_d(20, 11), "30m", "30m", "Telephone Appointment", _LOC2, "Finished", "0m", "0m", _PRYCE,
     _d(20, 11), "16:00", _CONS, "5h 10m", "72000211", 1],
]
SYSTMONE_XLSX_FOOTER = [[], ["Total appointments: 20"]]

# --- 3. EMIS Web appointment report (XLSX) ------------------------------------------------------
EMIS_TITLE = [["Appointment Report - Westmoor CAMHS"], ["Printed 30/11/2026 15:10"], []]
EMIS_HEADER = ["Session Holder", "Session Name", "Session Type", "Slot Type", "Appointment Date",
               "Start Time", "Duration", "Slot Status", "NHS Number", "Booked Date"]
_BH, _SK = "Dr Ben Hartley", "Ms Siobhán Kelly"
_TUE, _WED, _THU = "Westmoor CAMHS Tue", "Westmoor CAMHS Wed", "Westmoor CAMHS Thu"
_TIMED = "Timed Appointments"
EMIS_ROWS = [
    # Choice Appt: 2 Left, 1 DNA, 2 Slot Available, 1 Cancelled, 1 Walked Out, 1 Booked
    [_BH, _TUE, _TIMED, "Choice Appt", "03/11/2026", "09:30", "60", "Left", "999 000 1006",
     "20/10/2026"],
    [_BH, _TUE, _TIMED, "Choice Appt", "03/11/2026", "11:00", "60", "DNA", "999 000 1014",
     "21/10/2026"],
    [_BH, _TUE, _TIMED, "Choice Appt", "10/11/2026", "09:30", "60", "Slot Available", "", ""],
    [_SK, _TUE, _TIMED, "Choice Appt", "10/11/2026", "11:00", "60", "Left", "999 000 1022",
     "27/10/2026"],
    [_SK, _TUE, _TIMED, "Choice Appt", "17/11/2026", "09:30", "60", "Cancelled", "999 000 1030",
     "01/11/2026"],
    [_SK, _TUE, _TIMED, "Choice Appt", "24/11/2026", "09:30", "60", "Walked Out", "999 000 1049",
     "10/11/2026"],
    [_BH, _TUE, _TIMED, "Choice Appt", "01/12/2026", "09:30", "60", "Booked", "999 000 1057",
     "20/11/2026"],
    [_BH, _TUE, _TIMED, "Choice Appt", "01/12/2026", "11:00", "60", "Slot Available", "", ""],
    # CP New: 2 Left, 1 telephone DNA, 1 Slot Available, 1 Booked
    [_BH, _WED, _TIMED, "CP New", "04/11/2026", "14:00", "90", "Left", "999 000 1006",
     "03/11/2026"],
    [_SK, _WED, _TIMED, "CP New", "11/11/2026", "14:00", "90", "Left", "999 000 1065",
     "28/10/2026"],
    [_SK, _WED, _TIMED, "CP New", "18/11/2026", "14:00", "90", "Telephoned but no answer",
     "999 000 1073", "04/11/2026"],
    [_BH, _WED, _TIMED, "CP New", "25/11/2026", "14:00", "90", "Slot Available", "", ""],
    [_SK, _WED, _TIMED, "CP New", "02/12/2026", "14:00", "90", "Booked", "999 000 1081",
     "25/11/2026"],
    # CP Follow Up: 2 Left, 1 Sent In, 1 DNA (NHS number with a wrong check digit)
    [_BH, _WED, _TIMED, "CP Follow Up", "11/11/2026", "15:30", "60", "Left", "999 000 1006",
     "04/11/2026"],
    [_BH, _WED, _TIMED, "CP Follow Up", "18/11/2026", "15:30", "60", "Sent In", "999 000 1006",
     "11/11/2026"],
    [_SK, _WED, _TIMED, "CP Follow Up", "25/11/2026", "15:30", "60", "Left", "999 000 1065",
     "11/11/2026"],
    [_SK, _WED, _TIMED, "CP Follow Up", "25/11/2026", "16:30", "60", "DNA", "999 000 1007",
     "18/11/2026"],
    # SP Psychometrics: 1 new Left, 1 follow-up Arrived
    [_BH, _THU, _TIMED, "SP Psychometrics New", "12/11/2026", "10:00", "120", "Left",
     "999 000 1103", "29/10/2026"],
    [_BH, _THU, _TIMED, "SP Psychometrics F/U", "26/11/2026", "10:00", "120", "Arrived",
     "999 000 1103", "12/11/2026"],
    # a consultation call: no CAPA kind (listed)
    [_SK, _THU, _TIMED, "Consultation Call", "19/11/2026", "13:00", "30", "Left", "999 000 1111",
     "19/11/2026"],
]

# --- 4. RiO diary with outcomes (XLSX) ----------------------------------------------------------
RIO_TITLE = [["RiO - Diary Appointments with Outcomes"], ["Team: Westmoor CAMHS (WMC01)"],
             ["Period: 01/10/2026 - 31/12/2026"], []]
RIO_HEADER = ["Appt Date", "Appt Time", "HCP", "Team", "Appointment Type", "Outcome", "RiO ID",
              "Date Booked", "Rebooked"]
_AO, _RM, _PN, _TEAM = "Okonjo, Amara", "McDonald, Ross", "Nair, Priya", "Westmoor CAMHS"
_ATT = "Attended"
_DNA_DD = "Did not attend - no advance warning given"
_BY_PATIENT = "Appointment cancelled by, or on behalf of, the patient"
_BY_PROVIDER = "Appointment cancelled or postponed by the health care provider"
_LATE_NOT_SEEN = "Patient arrived late and could not be seen"
_LATE_SEEN = ("Arrived late, after the relevant care professional was ready to see the patient, "
              "but was seen")
_CHOICE_APPT, _CORE_FIRST, _CORE_SUB = ("Choice Appointment", "Partnership - Core (First)",
                                        "Partnership - Core (Subsequent)")
_SPEC_DBT, _GROUP = "Partnership - Specific (DBT)", "Group - Parenting"
RIO_ROWS = [
    # Choice: 3 attended (one late but seen), 1 DNA (rebooked), 1 by patient, 1 future blank
    ["05/10/2026", "09:00 - 10:00", _AO, _TEAM, _CHOICE_APPT, _ATT, "RIO100201", "21/09/2026", ""],
    ["05/10/2026", "10:30 - 11:30", _AO, _TEAM, _CHOICE_APPT, _DNA_DD, "RIO100202", "22/09/2026",
     "Y"],
    ["12/10/2026", "09:00 - 10:00", _AO, _TEAM, _CHOICE_APPT, _ATT, "RIO100202", "06/10/2026", ""],
    ["19/10/2026", "09:00 - 10:00", _PN, _TEAM, _CHOICE_APPT, _BY_PATIENT, "RIO100203",
     "01/10/2026", ""],
    ["02/11/2026", "09:00 - 10:00", _PN, _TEAM, _CHOICE_APPT, _LATE_SEEN, "RIO100204",
     "20/10/2026", ""],
    ["07/12/2026", "09:00 - 10:00", _PN, _TEAM, _CHOICE_APPT, "", "RIO100205", "23/11/2026", ""],
    # Core first: 3 attended, 1 late not seen (rebooked), 1 by provider, 1 past with no outcome
    ["13/10/2026", "14:00 - 15:00", _RM, _TEAM, _CORE_FIRST, _ATT, "RIO100201", "05/10/2026", ""],
    ["20/10/2026", "14:00 - 15:00", _RM, _TEAM, _CORE_FIRST, _LATE_NOT_SEEN, "RIO100206",
     "06/10/2026", "Y"],
    ["27/10/2026", "14:00 - 15:00", _RM, _TEAM, _CORE_FIRST, _ATT, "RIO100206", "21/10/2026", ""],
    ["03/11/2026", "14:00 - 15:00", _AO, _TEAM, _CORE_FIRST, _BY_PROVIDER, "RIO100202",
     "13/10/2026", ""],
    ["10/11/2026", "14:00 - 15:00", _AO, _TEAM, _CORE_FIRST, _ATT, "RIO100202", "04/11/2026", ""],
    ["24/11/2026", "14:00 - 15:00", _RM, _TEAM, _CORE_FIRST, "", "RIO100207", "10/11/2026", ""],
    # Core subsequent: 3 attended, 1 DNA, 1 future blank
    ["20/10/2026", "15:30 - 16:30", _RM, _TEAM, _CORE_SUB, _ATT, "RIO100201", "13/10/2026", ""],
    ["03/11/2026", "15:30 - 16:30", _RM, _TEAM, _CORE_SUB, _DNA_DD, "RIO100201", "20/10/2026", ""],
    ["17/11/2026", "15:30 - 16:30", _RM, _TEAM, _CORE_SUB, _ATT, "RIO100201", "03/11/2026", ""],
    ["17/11/2026", "10:00 - 11:00", _AO, _TEAM, _CORE_SUB, _ATT, "RIO100202", "10/11/2026", ""],
    ["01/12/2026", "10:00 - 11:00", _AO, _TEAM, _CORE_SUB, "", "RIO100202", "17/11/2026", ""],
    # Specific (DBT), no first/subsequent word: follow-up, listed as assumed
    ["14/10/2026", "13:00 - 14:30", _PN, _TEAM, _SPEC_DBT, _ATT, "RIO100208", "30/09/2026", ""],
    ["28/10/2026", "13:00 - 14:30", _PN, _TEAM, _SPEC_DBT, _ATT, "RIO100208", "14/10/2026", ""],
    # a group: no CAPA kind (listed)
    ["21/10/2026", "18:00 - 19:30", _PN, _TEAM, _GROUP, _ATT, "RIO100209", "07/10/2026", ""],
]

# --- 5. MHSDS v6 care contacts extract (CSV, UTF-8) ---------------------------------------------
# MHS201 field names (NHS England's MHSDS pipelines); StaffName and LocalActivityType are the
# trust's own columns (MHSDS carries no clinician name and no CAPA stage).
MHSDS_HEADER = [
    "CareContactId", "ServiceRequestId", "LocalPatientId", "NHSNumber", "CareProfTeamLocalId",
    "StaffName", "CareContDate", "CareContTime", "ClinContDurOfCareCont", "ConsType",
    "ConsMechanismMH", "LocalActivityType", "AttendStatus", "CareContBookedDate",
    "CareContCancelDate",
]
_WMC = "WMC-CAMHS-01"
_OK, _MD, _KE = "Amara Okonjo", "Ross McDonald", "Siobhán Kelly"
MHSDS_ROWS = [
    # Choice: 4 attended (5/6), 1 DNA (3), 1 cancelled by patient (2), 1 future (blank)
    ["CC0001", "SR01", "LP01", "9990001006", _WMC, _OK, "2026-10-06", "09:30:00", "60", "01", "01",
     "Choice", "5", "2026-09-22", ""],
    ["CC0002", "SR02", "LP02", "9990001014", _WMC, _OK, "2026-10-06", "11:00:00", "60", "01", "01",
     "Choice", "3", "2026-09-23", ""],
    ["CC0003", "SR03", "LP03", "9990001022", _WMC, _OK, "2026-10-20", "09:30:00", "60", "01", "11",
     "Choice", "6", "2026-10-07", ""],
    ["CC0004", "SR04", "LP04", "9990001030", _WMC, _OK, "2026-11-03", "09:30:00", "60", "01", "01",
     "Choice", "2", "2026-10-20", "2026-11-01"],
    ["CC0005", "SR02", "LP02", "9990001014", _WMC, _OK, "2026-11-03", "11:00:00", "60", "01", "01",
     "Choice", "5", "2026-10-07", ""],
    ["CC0019", "SR09", "LP09", "9990001081", _WMC, _OK, "2026-11-24", "09:30:00", "60", "01", "01",
     "Choice", "5", "2026-11-10", ""],
    ["CC0020", "SR10", "LP10", "9990001103", _WMC, _OK, "2026-12-01", "09:30:00", "60", "01", "01",
     "Choice", "", "2026-11-17", ""],
    # Core Partnership: ConsType 01 first (5 rows), 02 follow-up (4 rows)
    ["CC0006", "SR01", "LP01", "9990001006", _WMC, _MD, "2026-10-13", "14:00:00", "90", "01", "01",
     "Core Partnership", "5", "2026-10-06", ""],
    ["CC0007", "SR01", "LP01", "9990001006", _WMC, _MD, "2026-10-27", "14:00:00", "90", "02", "01",
     "Core Partnership", "5", "2026-10-13", ""],
    ["CC0008", "SR03", "LP03", "9990001022", _WMC, _KE, "2026-10-28", "10:00:00", "90", "01", "02",
     "Core Partnership", "7", "2026-10-20", ""],
    ["CC0009", "SR03", "LP03", "9990001022", _WMC, _KE, "2026-11-04", "10:00:00", "90", "01", "01",
     "Core Partnership", "5", "2026-10-29", ""],
    ["CC0010", "SR01", "LP01", "9990001006", _WMC, _MD, "2026-11-10", "14:00:00", "90", "02", "01",
     "Core Partnership", "4", "2026-10-27", "2026-11-09"],
    ["CC0011", "SR01", "LP01", "9990001006", _WMC, _MD, "2026-11-17", "14:00:00", "90", "02", "01",
     "Core Partnership", "3", "2026-11-10", ""],
    ["CC0012", "SR05", "LP05", "9990001049", _WMC, _KE, "2026-11-18", "10:00:00", "90", "01", "01",
     "Core Partnership", "5", "2026-11-04", ""],
    ["CC0013", "SR05", "LP05", "9990001049", _WMC, _KE, "2026-12-02", "10:00:00", "90", "02", "01",
     "Core Partnership", "", "2026-11-18", ""],
    ["CC0014", "SR06", "LP06", "9990001057", _WMC, _MD, "2026-12-08", "14:00:00", "90", "01", "01",
     "Core Partnership", "", "2026-11-24", ""],
    # Specific Partnership: 1 first, 2 follow-up
    ["CC0015", "SR07", "LP07", "9990001065", _WMC, _OK, "2026-10-15", "13:00:00", "120", "01",
     "01", "Specific Partnership", "5", "2026-09-17", ""],
    ["CC0016", "SR07", "LP07", "9990001065", _WMC, _OK, "2026-11-12", "13:00:00", "120", "02",
     "01", "Specific Partnership", "5", "2026-10-15", ""],
    ["CC0017", "SR07", "LP07", "9990001065", _WMC, _OK, "2026-11-26", "13:00:00", "120", "02",
     "01", "Specific Partnership", "2", "2026-11-12", "2026-11-25"],
    # a consultation: no CAPA kind (listed)
    ["CC0018", "SR08", "LP08", "9990001073", _WMC, _KE, "2026-10-22", "16:00:00", "30", "01", "02",
     "Consultation", "5", "2026-10-22", ""],
]

# --- 6. CAPTND-like extract (Scotland; CSV) -----------------------------------------------------
# CAPTND column names (Public-Health-Scotland/CAPTND swift_column_renamer.R); CLINICIAN_NAME and
# LOCAL_APPOINTMENT_TYPE are the board's own (CAPTND has neither).
CAPTND_HEADER = [
    "UPCN", "HB_NAME", "DATA_TYPE", "REFERRAL_RECEIVED_DATE", "DATE_OF_APPOINTMENT",
    "APPOINTMENT_PURPOSE", "ATTENDANCE_STATUS", "ATTENDANCE_CATEGORY", "PROFESSIONAL_GROUP",
    "CARE_CONTACT_LOCATION", "CLINICIAN_NAME", "LOCAL_APPOINTMENT_TYPE",
]
_HB = "NHS Westmoor"
_FC, _MM, _ER = "Fraser Campbell", "Morag MacLeod", "Eilidh Ross"
_NDEV = "Specific Partnership - Neurodevelopmental"
CAPTND_ROWS = [
    # Choice: 3 attended (1), 1 DNA (8), 2 patient cancelled (3), 1 clinic cancelled (2)
    ["U001", _HB, "CAMHS", "2026-08-14", "2026-10-05", "1", "1", "1", "Psychology", "A01", _FC,
     "Choice"],
    ["U002", _HB, "CAMHS", "2026-08-20", "2026-10-05", "1", "8", "1", "Psychology", "A01", _FC,
     "Choice"],
    ["U003", _HB, "CAMHS", "2026-08-21", "2026-10-12", "1", "3", "1", "Nursing", "A01", _MM,
     "Choice"],
    ["U004", _HB, "CAMHS", "2026-08-28", "2026-10-19", "1", "1", "1", "Nursing", "A01", _MM,
     "Choice"],
    ["U005", _HB, "CAMHS", "2026-09-02", "2026-11-02", "1", "2", "1", "Psychology", "A01", _FC,
     "Choice"],
    ["U002", _HB, "CAMHS", "2026-08-20", "2026-11-09", "1", "1", "1", "Psychology", "A01", _FC,
     "Choice"],
    ["U011", _HB, "CAMHS", "2026-09-15", "2026-11-26", "1", "3", "2", "Psychology", "A01", _FC,
     "Choice"],
    # Partnership: ATTENDANCE_CATEGORY 1 new (6 rows), 2 return (3 rows)
    ["U001", _HB, "CAMHS", "2026-08-14", "2026-10-20", "2", "1", "1", "Nursing", "A01", _ER,
     "Partnership"],
    ["U001", _HB, "CAMHS", "2026-08-14", "2026-11-03", "2", "1", "2", "Nursing", "A01", _ER,
     "Partnership"],
    ["U001", _HB, "CAMHS", "2026-08-14", "2026-11-17", "2", "5", "2", "Nursing", "A01", _ER,
     "Partnership"],
    ["U004", _HB, "CAMHS", "2026-08-28", "2026-11-04", "2", "8", "1", "Nursing", "A01", _MM,
     "Partnership"],
    ["U004", _HB, "CAMHS", "2026-08-28", "2026-11-11", "2", "1", "1", "Nursing", "A01", _MM,
     "Partnership"],
    ["U004", _HB, "CAMHS", "2026-08-28", "2026-11-25", "2", "1", "2", "Nursing", "A01", _MM,
     "Partnership"],
    ["U006", _HB, "CAMHS", "2026-09-04", "2026-11-10", "2", "9", "1", "Nursing", "A01", _ER,
     "Partnership"],
    ["U007", _HB, "CAMHS", "2026-09-09", "2026-11-18", "2", "99", "1", "Psychology", "A01", _FC,
     "Partnership"],
    ["U002", _HB, "CAMHS", "2026-08-20", "2026-11-23", "2", "1", "1", "Psychology", "A01", _FC,
     "Partnership"],
    # Specific: 1 new, 1 return
    ["U008", _HB, "CAMHS", "2026-07-30", "2026-10-27", "2", "1", "1", "Nursing", "A01", _MM, _NDEV],
    ["U008", _HB, "CAMHS", "2026-07-30", "2026-11-24", "2", "1", "2", "Nursing", "A01", _MM, _NDEV],
    # Duty: no CAPA kind (listed)
    ["U009", _HB, "CAMHS", "2026-10-13", "2026-10-14", "1", "1", "1", "Nursing", "A01", _ER,
     "Duty"],
    ["U010", _HB, "CAMHS", "2026-10-20", "2026-10-28", "1", "2", "1", "Nursing", "A01", _ER,
     "Duty"],
]

# --- 7. Hand-kept tracker, a sheet per month behind a summary sheet (XLSX) ----------------------
TRACKER_HEADER = ["Date", "Clin", "Appt", "N/FU", "NHS No", "Outcome", "Rebooked?", "Notes"]
_A, _R, _S = "A Okonjo", "R McDonald", "S Kelly"
TRACKER_SUMMARY = [
    ["Westmoor CAMHS - appointment tracker 2026/27"],
    [],
    ["Month", "Choice", "CP new", "DNA/WNB"],
    ["Oct 26", 3, 3, 2],
    ["Nov 26", 2, 1, 0],
    ["Dec 26", 2, 1, 0],
]
TRACKER_SHEETS = {
    # October: dates typed as date cells
    "Oct 26": [
        [_d(6, 10), _A, "Ch", "", "9990001006", "Att", "", ""],
        [_d(6, 10), _A, "Ch", "", "9990001014", "WNB", "Y", "rebooked 1/52"],
        [_d(13, 10), _A, "Ch", "", "9990001014", "Att", "", ""],
        [_d(14, 10), _R, "CP", "N", "9990001006", "Att", "", ""],
        [_d(21, 10), _R, "CP", "FU", "9990001006", "CBP", "", "sibling unwell"],
        [_d(22, 10), _S, "CP", "NP", "9990001022", "DNA", "Y", ""],
        [_d(29, 10), _S, "CP", "N", "9990001022", "Att", "", ""],
        [_d(28, 10), _R, "CP", "FU", "9990001006", "Att", "", ""],
    ],
    # November: dates typed as text, two-digit years
    "Nov 26": [
        ["03/11/26", _A, "Ch", "", "9990001030", "CNA", "", ""],
        ["10/11/26", _A, "Ch", "", "9990001049", "Att", "", ""],
        ["04/11/26", _R, "CP", "FU", "9990001006", "canx", "", "?who"],
        ["11/11/26", _S, "CP", "FU", "9990001022", "pt canc", "", ""],
        ["12/11/26", _S, "SP", "N", "9990001057", "Att", "", "ADOS"],
        ["18/11/26", _R, "C-new", "N", "9990001049", "Att", "", ""],
        ["19/11/26", _S, "CP", "FU", "9990001022", "clin canx", "", "clinician sick"],
        ["25/11/26", _R, "CP", "N", "9990001065", "CBC", "", ""],
    ],
    # December: all in the future on 30/11/2026
    "Dec 26": [
        [_d(1, 12), _A, "Ch", "", "9990001073", "UTA", "", ""],
        [_d(2, 12), _S, "SP", "FU", "9990001057", "", "", ""],
        [_d(8, 12), _R, "CP", "N", "9990001081", "", "", ""],
        [_d(9, 12), _A, "Ch", "", "", "", "", "slot held"],
    ],
}

# --- 8. Carenotes/PARIS-like contacts report (XLSX) ---------------------------------------------
CARENOTES_TITLE = [["Contacts by Team"],
                   ["Team: Westmoor CAMHS   Date range: 01/10/2026 to 31/12/2026"],
                   ["Produced: 30/11/2026"], []]
CARENOTES_HEADER = ["Contact ID", "Contact Date", "Start", "Duration (mins)", "Staff", "Team",
                    "Service User ID", "Contact Type", "Activity", "Outcome", "Date Booked"]
_SO, _SH, _SP_ = "Okonjo, Amara", "Hartley, Ben (Dr)", "Pryce, Tom"
_F2F, _TEL = "Face to Face", "Telephone"
_CHOICE_C = "Choice"
_FIRST, _REVIEW = "Core Partnership - First Appointment", "Core Partnership - Review"
_PSY_I, _PSY = ("Specific Partnership - Psychotherapy (Initial)",
                "Specific Partnership - Psychotherapy")
_CONSULT = "Consultation - Professionals"
CARENOTES_ROWS = [
    # Choice: 3 attended, 1 was not brought, 1 by service user, 1 by staff
    ["CN-40001", _d(7, 10), "09:00", 60, _SO, _TEAM, "SU100301", _F2F, _CHOICE_C, "Attended",
     "23/09/2026"],
    ["CN-40002", _d(7, 10), "10:30", 60, _SO, _TEAM, "SU100302", _F2F, _CHOICE_C,
     "Was Not Brought", "23/09/2026"],
    ["CN-40003", _d(14, 10), "09:00", 60, _SO, _TEAM, "SU100303", _F2F, _CHOICE_C,
     "Cancelled by Service User", "30/09/2026"],
    ["CN-40004", _d(21, 10), "09:00", 60, _SO, _TEAM, "SU100302", _F2F, _CHOICE_C, "Attended",
     "08/10/2026"],
    ["CN-40005", _d(4, 11), "09:00", 60, _SO, _TEAM, "SU100304", _F2F, _CHOICE_C,
     "Cancelled by Staff", "21/10/2026"],
    ["CN-40006", _d(11, 11), "09:00", 60, _SO, _TEAM, "SU100304", _TEL, _CHOICE_C, "Attended",
     "05/11/2026"],
    # Core Partnership: 5 first, 4 review
    ["CN-40007", _d(15, 10), "14:00", 90, _SH, _TEAM, "SU100301", _F2F, _FIRST, "Attended",
     "08/10/2026"],
    ["CN-40008", _d(29, 10), "14:00", 90, _SH, _TEAM, "SU100301", _F2F, _REVIEW, "Attended",
     "16/10/2026"],
    ["CN-40009", _d(12, 11), "14:00", 90, _SH, _TEAM, "SU100301", _F2F, _REVIEW,
     "Service User Arrived Late - Not Seen", "30/10/2026"],
    ["CN-40010", _d(22, 10), "11:00", 90, _SP_, _TEAM, "SU100302", _F2F, _FIRST, "Did Not Attend",
     "13/10/2026"],
    ["CN-40011", _d(5, 11), "11:00", 90, _SP_, _TEAM, "SU100302", _F2F, _FIRST, "Attended",
     "23/10/2026"],
    ["CN-40012", _d(19, 11), "11:00", 90, _SP_, _TEAM, "SU100302", _TEL, _REVIEW, "Attended",
     "06/11/2026"],
    ["CN-40013", _d(26, 11), "14:00", 90, _SH, _TEAM, "SU100305", _F2F, _FIRST,
     "Cancelled by Staff", "12/11/2026"],
    ["CN-40014", _d(3, 12), "14:00", 90, _SH, _TEAM, "SU100305", _F2F, _FIRST, None,
     "27/11/2026"],
    ["CN-40015", _d(10, 12), "11:00", 90, _SP_, _TEAM, "SU100302", _F2F, _REVIEW, None,
     "19/11/2026"],
    # Specific (psychotherapy): 1 initial, 2 with no first/review word
    ["CN-40016", _d(20, 10), "15:30", 60, _SP_, _TEAM, "SU100306", _F2F, _PSY_I, "Attended",
     "06/10/2026"],
    ["CN-40017", _d(3, 11), "15:30", 60, _SP_, _TEAM, "SU100306", _F2F, _PSY, "Attended",
     "20/10/2026"],
    ["CN-40018", _d(17, 11), "15:30", 60, _SP_, _TEAM, "SU100306", _F2F, _PSY, "Cancelled",
     "03/11/2026"],
    # consultations with professionals: no CAPA kind (listed)
    ["CN-40019", _d(28, 10), "16:00", 45, _SO, _TEAM, None, _TEL, _CONSULT, "Attended", None],
    ["CN-40020", _d(18, 11), "16:00", 45, _SH, _TEAM, "SU100307", _TEL, _CONSULT, "Attended",
     "18/11/2026"],
]

# --- job plans (for the job-plan reader) --------------------------------------------------------
JOBPLAN_SESSIONS = [
    ["Westmoor CAMHS job plans 2026/27"],
    [],
    ["Clinician", "Team", "WTE", "Choice appts/wk", "Core sessions/wk", "Specific sessions/wk",
     "Non-clinical sessions/wk", "Leaving date"],
    ["Amara Okonjo", _TEAM, 1.0, 4, 2, 2, 2, None],
    ["Ross McDonald", _TEAM, 1.0, 2, 4, 0, 2, None],
    ["Siobhán Kelly", _TEAM, 0.8, 2, 3, 0.5, 1.5, None],
    ["Ben Hartley", _TEAM, 0.6, 2, 1.5, 1, 1, None],
    ["Priya Nair", _TEAM, 1.0, 4, None, 2, 2, None],
    ["Tom Pryce", _TEAM, 1.0, 2, 3, 1, 2, _d(18, 12)],
]
JOBPLAN_HOURS = [
    ["Name", "Team", "FTE", "Choice hrs/wk", "Core hrs/wk", "Specific hrs/wk", "Admin hrs/wk"],
    ["Amara Okonjo", _TEAM, 1.0, 7, 7, 7, 7],
    ["Ross McDonald", _TEAM, 1.0, 3.5, 14, 0, 7],
    ["Siobhán Kelly", _TEAM, 0.8, 3.5, 10.5, 1.75, 5.25],
    ["Ben Hartley", _TEAM, 0.6, 3.5, 5.25, 3.5, 3.5],
    ["Priya Nair", _TEAM, 1.0, 14, 0, 7, 7],
    ["Tom Pryce", _TEAM, 1.0, 7, None, 7, 7],
]
JOBPLAN_PAS = [
    ["Staff", "Team", "PAs - Choice", "PAs - Core Partnership", "PAs - Specific", "PAs - SPA",
     "Q3 target"],
    ["Dr Ben Hartley", _TEAM, 1, 2, 2, 2.5, None],
    ["Dr Amara Okonjo", _TEAM, 2, 3, 3, 2, None],
    ["Priya Nair", _TEAM, 1, 1.5, 1, 1, None],
    ["Tom Pryce", _TEAM, 1, 0, 2, 1, 5],
]
JOBPLAN_GRID = [
    ["Clinician", "Team", "WTE", "Choice", None, "Core Partnership", None, "Specific",
     "Non-clinical"],
    [None, None, None, "Appts/wk", "Sessions/wk", "Sessions/wk", "Q3 target", "Sessions/wk",
     "Sessions/wk"],
    ["Ross McDonald", _TEAM, 1.0, 2, 1, 4, 14, 0, 2],
    ["Siobhán Kelly", _TEAM, 0.8, 2, 1, 3, None, 0.5, 1.5],
    ["Amara Okonjo", _TEAM, 1.0, None, 2, 2, None, 2, 2],
    ["Ben Hartley", _TEAM, 0.6, 2, 1, None, None, 1, 1],
]


# --- writers ------------------------------------------------------------------------------------


def _save(book: Workbook, path: Path) -> None:
    """Save with pinned zip timestamps and document dates, so rewriting changes no byte."""
    raw = io.BytesIO()
    book.save(raw)
    stamp = PINNED.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp.encode(), data)
            dest.writestr(zipfile.ZipInfo(info.filename, PINNED.timetuple()[:6]), data,
                          zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


def _csv_bytes(rows: list[list[object]], *, encoding: str, newline: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    return out.getvalue().encode(encoding)


def _workbook(sheets: dict[str, list[list[object]]], date_format: str = "dd/mm/yyyy") -> Workbook:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, datetime | date):
                    cell.number_format = date_format
    return book


def write_all(target: Path = HERE) -> list[Path]:
    """Write every export and job plan into `target`; returns the paths written."""
    jobplans = target / "jobplans"
    jobplans.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def csv_file(name: str, rows: list[list[object]], encoding: str, newline: str) -> None:
        path = target / name
        path.write_bytes(_csv_bytes(rows, encoding=encoding, newline=newline))
        written.append(path)

    def xlsx_file(path: Path, sheets: dict[str, list[list[object]]], **kw: str) -> None:
        book = _workbook(sheets, **kw)
        book.active = 0
        _save(book, path)
        written.append(path)

    csv_file("systmone_appointments.csv", [SYSTMONE_HEADER, *SYSTMONE_CSV_ROWS],
             "utf-8-sig", "\r\n")
    xlsx_file(target / "systmone_appointments.xlsx",
              {"Appointments": [*SYSTMONE_XLSX_TITLE, SYSTMONE_HEADER, *SYSTMONE_XLSX_ROWS,
                                *SYSTMONE_XLSX_FOOTER]}, date_format="dd-mmm-yy")
    xlsx_file(target / "emis_appointments.xlsx",
              {"Appointment Report": [*EMIS_TITLE, EMIS_HEADER, *EMIS_ROWS]})
    xlsx_file(target / "rio_diary.xlsx", {"Diary": [*RIO_TITLE, RIO_HEADER, *RIO_ROWS]})
    csv_file("mhsds_v6_care_contacts.csv", [MHSDS_HEADER, *MHSDS_ROWS], "utf-8", "\n")
    csv_file("captnd_extract.csv", [CAPTND_HEADER, *CAPTND_ROWS], "utf-8", "\n")
    xlsx_file(target / "tracker_by_month.xlsx",
              {"Summary": TRACKER_SUMMARY,
               **{month: [TRACKER_HEADER, *rows] for month, rows in TRACKER_SHEETS.items()}})
    xlsx_file(target / "carenotes_contacts.xlsx",
              {"Contacts": [*CARENOTES_TITLE, CARENOTES_HEADER, *CARENOTES_ROWS]})

    xlsx_file(jobplans / "sessions_per_week.xlsx", {"Job plans": JOBPLAN_SESSIONS})
    xlsx_file(jobplans / "hours_per_week.xlsx", {"Hours": JOBPLAN_HOURS})
    xlsx_file(jobplans / "programmed_activities.xlsx", {"PAs": JOBPLAN_PAS})
    grid = _workbook({"Job plan grid": JOBPLAN_GRID})
    sheet = grid["Job plan grid"]
    sheet.merge_cells("D1:E1")  # Choice over Appts/wk and Sessions/wk
    sheet.merge_cells("F1:G1")  # Core Partnership over Sessions/wk and Q3 target
    path = jobplans / "two_row_grid.xlsx"
    _save(grid, path)
    written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all():
        print(written_path.relative_to(HERE))
