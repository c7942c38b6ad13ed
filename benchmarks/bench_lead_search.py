"""Leads search speed (core.services.lead_search) over 1,000,000 leads of 2025.

Usage: python benchmarks/bench_lead_search.py [--leads N] [--touches N] [--runs N]
           [--postgres URL | --skip-postgres] [--skip-sqlite] [--rebuild] [--keep-postgres]

  --leads      how many leads (default 1,000,000), with --touches touches (default 3,000,000)
  --runs       timed runs per step (default 10), after one untimed warm-up run
  --postgres   the server to use (default postgresql+psycopg://postgres@127.0.0.1:5432/
               bench_search): that database is dropped, created, built and dropped at the end
  --keep-postgres  keep it at the end, and reuse it next time while its lead count matches
  --rebuild    rebuild the cached SQLite file too

The leads are bench_compliance.py's (40 reps, six channels, three segments, four regions, MQLs
spread over 2025, their funnel stages), with people's names, companies and work emails added:
about 150,000 distinct companies ("Northwind Logistics", "Blue Harbor Labs GmbH") drawn with a
long tail (the biggest account has a few thousand leads, most have one or two), names from 280
first and 950 last names, emails at the company's domain (a tenth at gmail.com and the like).
The rep users rep00..rep39 are created in five teams (north ... central). The SQLite file is
cached as /tmp/bench-search/<leads>-<touches>.db and reused while its row counts match; a
reused database is upgraded to the current migrations first (new indexes are built on it).
PostgreSQL's statistics are refreshed (VACUUM ANALYZE) before timing.

Per backend it prints the median and the max of the timed runs (each in a new session, as a
request of the page would be) of search_leads as the head of sales, the searched values read
from the data:
  1. search by company: a word (a company's second word, "logistics");
  2. search by email: a whole address, typed in capitals;
  3. search by external id, typed in lower case;
  4. a filtered, sorted page: one owner + one channel + an MQL period (2025-Q2), sorted by
     company, page 1;
  5. the same without the owner (tens of thousands of matches), page 1,
  6. ... and page 100;
  7. the unfiltered first page (newest MQLs first);
then, unnumbered: short prefixes, two words, team + stage, sorts by stage, channel and name,
by time left, a rep's own leads, and filter_choices. The goal is 300 ms for 1-7 (marked).
"""

import argparse
import os
import sqlite3
import statistics
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_compliance import build_database, generate, versions  # noqa: E402

SCRATCH = Path("/tmp/bench-search")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_search"
GOAL_MS = 300
TEAMS = ["north", "south", "east", "west", "central"]


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words("""
Ava Liam Olivia Noah Emma Oliver Charlotte Elijah Amelia James Sophia William Isabella
Benjamin Mia Lucas Evelyn Henry Harper Theodore Luna Jack Camila Levi Gianna Alexander Elizabeth
Jackson Eleanor Mateo Ella Daniel Abigail Michael Sofia Mason Avery Sebastian Scarlett Ethan
Emily Logan Aria Owen Penelope Samuel Chloe Jacob Layla Asher Mila Aiden Nora John Hazel Joseph
Madison Wyatt Ellie David Lily Leo Nova Luke Isla Julian Grace Hudson Violet Grayson Aurora
Matthew Riley Ezra Zoey Gabriel Willow Carter Emilia Isaac Stella Jayden Zoe Luca Victoria
Anthony Hannah Dylan Addison Lincoln Leah Thomas Lucy Maverick Eliana Elias Ivy Josiah Everly
Charles Lillian Caleb Paisley Christopher Elena Ezekiel Naomi Miles Maya Jaxon Natalie Isaiah
Kinsley Andrew Delilah Joshua Claire Nathan Audrey Nolan Aaliyah Adrian Ruby Cameron Brooklyn
Santiago Alice Eli Aubrey Aaron Autumn Ryan Leilani Angel Savannah Cooper Valentina Waylon
Kennedy Easton Madelyn Kai Josephine Christian Bella Landon Skylar Colton Genesis Roman Sophie
Axel Hailey Brooks Sadie Jonathan Natalia Robert Quinn Jameson Caroline Ian Allison Everett
Gabriella Greyson Anna Wesley Serenity Jeremiah Nevaeh Hunter Cora Leonardo Ariana Jordan Emery
Jose Lydia Bennett Jade Silas Sarah Nicholas Eva Parker Adeline Beau Madeline Weston Piper
Austin Rylee Connor Athena Carson Peyton Dominic Everleigh Xavier Vivian Jaxson Clara Jace
Raelynn Emmett Liliana Adam Samantha Declan Maria Rowan Iris Micah Ayla Kayden Eloise Gael
Lyla River Eliza Ryder Hadley Kingston Melody Damian Julia Sawyer Rose Luka Isabelle Evan
Brielle Vincent Adalynn Legend Arya Myles Eden Diego Remi Jesse Mackenzie Harrison Maeve
Kaiden Margaret Joel Reagan Charlie Alaina Jasper Kaylee Enzo Vera Miguel Ximena Tomas Marta
Pablo Lucia Hugo Ines Mathis Chiara Yusuf Aylin Kenji Yuki Wei Mei Arjun Priya Ravi Ananya
Oskar Freya Lars Ingrid""")
LAST = _words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen
Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez
Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward
Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez
Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson
Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald
Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford
Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks
Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn
Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval
Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke
Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs
OBrien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims
Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas
Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia
Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider
Joseph Barrett Navarro Figueroa Keller Avila Wade Molina Stanley Hopkins Campos Barnett Bates
Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala Lowe Frazier Powers Neal Leonard
Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris Jennings Watts Duran Walters
Cohen McDaniel Moran Parks Steele Vaughn Becker Holt DeLeon Barker Terry Hale Leon Hail Benson
Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera McKinney Mann Zimmerman
Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis Erickson Reeves Chang Klein
Salinas Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre Lin Cummings Chandler
Sharp Barber Bowen Ochoa Dennis Robbins Liu Ramsey Francis Griffith Paul Blair OConnor Cardenas
Pacheco Cross Calderon Quinn Moss Swanson Chan Rivas Khan Rodgers Serrano Fitzgerald Rosales
Stevenson Christensen Manning Gill Curry McLaughlin Harmon McGee Gross Doyle Garner Newton
Burgess Reese Walton Blake Trujillo Adkins Brady Goodman Roman Webster Goodwin Fischer Huang
Potter Delacruz Montoya Todd Wu Hines Mullins Castaneda Malone Cannon Tate Mack Sherman Hubbard
Hodges Zhang Guerra Wolf Valencia Franco Saunders Rowe Gallagher Farmer Hammond Hampton
Townsend Ingram Wise Gallegos Clarke Barton Schroeder Maxwell Waters Logan Camacho Strickland
Norman Person Colon Parsons Frank Harrington Glover Osborne Buchanan Casey Floyd Patton Ibarra
Ball Tyler Suarez Bowers Orozco Salas Cobb Gibbs Andrade Bauer Conner Moody Escobar McGuire
Lloyd Mueller Hartman French Kramer McBride Pope Lindsey Velazquez Norton McCormick Sparks
Flynn Yates Hogan Marsh Macias Villanueva Zamora Pratt Stokes Owen Ballard Lang Brock
Villarreal Charles Drake Barrera Cain Patrick Pineda Burnett Mercado Santana Shepherd Bautista
Ali Shaffer Lamb Trevino McKenzie Hess Beil Olsen Cochran Morton Nash Wilkins Petersen Briggs
Shah Roth Nicholson Holloway Lozano Rangel Flowers Hoover Short Arias Mora Valenzuela Bryan
Meyers Weiss Underwood Bass Greer Summers Houston Carson Morrow Clayton Whitaker Decker Yoder
Collier Zuniga Carey Wilcox Melendez Poole Roberson Larsen Conley Davenport Copeland Massey Lam
Huff Rocha Cameron Jefferson Hood Monroe Anthony Pittman Huynh Randall Singleton Kirk Combs
Mathis Christian Skinner Bradford Richard Galvan Wall Boone Kirby Wilkinson Bridges Bruce
Atkinson Velez Meza Roy Vincent York Hodge Villa Abbott Allison Tapia Gates Chase Sosa Sweeney
Farrell Wyatt Dalton Horn Barron Phelps Yu Dickerson Heath Foley Atkins Mathews Bonilla Acevedo
Benitez Zavala Hensley Glenn Cisneros Harrell Shields Rubio Choi Huffman Boyer Garrison Arroyo
Bond Kane Hancock Callahan Dillon Cline Wiggins Grimes Arellano Melton ONeill Savage Ho Beltran
Pitts Parrish Ponce Rich Booth Koch Golden Ware Brennan McDowell Marks Cantu Humphrey Baxter
Sawyer Clay Tanner Hutchinson Kaur Berg Wiley Gilmore Russo Villegas Hobbs Keith Wilkerson
Ahmed Beard McClain Montes Mata Rosario Vang Walter Henson ONeal Mosley McClure Beasley
Stephenson Snow Huerta Preston Vance Barry Johns Eaton Blackwell Dyer Prince Macdonald Solomon
Guevara Stafford English Hurst Woodard Cortes Shannon Kemp Nolan McCullough Merritt Murillo
Moon Salgado Strong Kline Cordova Barajas Roach Rosas Winters Jacobson Lester Knox Bullock
Kerr Leach Meadows Orr Davila Whitehead Pruitt Kent Conway McKee Barr David Dejesus Marin
Berger McIntyre Blankenship Gaines Palacios Cuevas Bartlett Durham Dorsey McCall ODonnell
Stein Browning Stout Lowery Sloan McLean Hendricks Calhoun Sexton Chung Gentry Hull Duarte
Ellison Nielsen Gillespie Buck Middleton Sellers Leblanc Esparza Hardin Bradshaw McIntosh
Howe Livingston Frost Glass Morse Knapp Herman Stark Bravo Noble Spears Weeks Corona Frederick
Buckley McFarland Hebert Enriquez Hickman Quintero Randolph Schaefer Walls Trejo House Reilly
Pennington Michael Conrad Giles Benjamin Crosby Fitzpatrick Donovan Mays Mahoney Valentine
Raymond Medrano Hahn McMillan Small Bentley Felix Peck Lucero Boyle Hanna Pace Rush Hurley
Harding McConnell Bernal Nava Ayers Everett Ventura Avery Pugh Mayer Bender Shepard McMahon
Landry Case Sampson Moses Magana Blackburn Dunlap Gould Duffy Vaughan Herring McKay Espinosa
Rivers Farley Bernard Ashley Friedman Potts Truong Costa Correa Blevins Nixon Clements Fry
Delarosa Best Benton Lugo Portillo Dougherty Crane Haley Phan Villalobos Blanchard Horne
Finley Quintana Lynn Esquivel Bean Dodson Mullen Xiong Hayden Cano Levy Huber Richmond Moyer
Lim Frye Sheppard McCann Ewing Tanaka Sato Suzuki Kowalski Novak Horvat Jansen Dubois Rossi
Ferrari Muller Schmid Andersson Nilsson Johansson""")
COMPANY_FIRST = _words("""
Acme Apex Atlas Aurora Beacon Birch Blue Bright Cardinal Cedar Clear Cobalt
Coastal Copper Crescent Crystal Delta Eagle Echo Ember Evergreen Falcon First Forest Frontier
Galaxy Global Golden Granite Green Harbor Hawk Highland Horizon Indigo Iron Island Jade Keystone
Lake Liberty Lighthouse Lion Lunar Maple Meridian Metro Midwest Mountain Nexus North Northern
Northwind Nova Oak Ocean Omega Orbit Pacific Peak Pine Pinnacle Pioneer Polar Prairie Prime
Quantum Radiant Rapid Red Redwood Ridge River Rock Royal Ruby Sage Sapphire Silver Sierra Sky
Solar South Spark Spring Star Sterling Stone Summit Sun Swift Terra Thunder Tidal Titan True
Union United Valley Vanguard Vertex Vista Wave West Western White Wild Willow Wind Zen Zenith
Alpine Amber Arrow Bay Bold Bridge Canyon Capital Central Civic Cloud Core Crown Digital
Dynamic Elm Elite Emerald Empire Fusion Gateway Giant Grand Heritage Hudson Infinite Inland
Kinetic Legacy Logic Magnet Marble Matrix Mosaic Noble Open Onyx Orchid Paragon Patriot Pixel
Plaza Premier Pulse Quest Raven Regal Signal Smart Spectrum Stellar Strata Sync Trinity Urban
Vector Velocity Victory Vivid Zephyr""")
COMPANY_SECOND = _words("""
Analytics Apparel Automation Bakery Bank Biotech Brewing Builders Capital
Chemicals Cleaning Cloud Construction Consulting Data Design Devices Dental Digital Dynamics
Electric Electronics Energy Engineering Entertainment Equipment Farms Fashion Finance Fitness
Foods Freight Furniture Games Health Healthcare Holdings Home Hospitality Imaging Industries
Insurance Interactive Investments Labs Law Learning Lighting Logistics Machines Manufacturing
Marine Marketing Media Medical Metals Micro Mobility Motors Networks Nutrition Optics Outdoor
Packaging Partners Payments Pharma Photonics Plastics Power Printing Properties Realty Records
Recycling Research Resources Retail Robotics Security Semiconductor Services Shipping Software
Solutions Sports Staffing Steel Storage Studios Supply Systems Technologies Telecom Textiles
Therapeutics Tools Trading Transport Travel Ventures Vision Water Wellness Wireless Works""")
COMPANY_SUFFIX = ["", "", "", "", "", "Inc", "LLC", "Ltd", "GmbH", "Group", "Co", "Corp", "SA",
                  "BV", "AG", "PLC", "International", "Worldwide"]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com"]


def people_and_companies(leads: int, seed: int = 11) -> pd.DataFrame:
    """Names, companies and emails for `leads` leads: about 200,000 distinct companies (a few
    big accounts with thousands of leads, a long tail of one or two), a person per lead."""
    rng = np.random.default_rng(seed)
    combos = len(COMPANY_FIRST) * len(COMPANY_SECOND) * len(COMPANY_SUFFIX)
    distinct = min(max(leads // 5, 1), combos)
    # Which combinations exist (a random subset), and how often each comes up (Zipf-like).
    chosen = rng.choice(combos, distinct, replace=False)
    weights = 1.0 / np.arange(1, distinct + 1) ** 0.7
    pick = chosen[rng.choice(distinct, leads, p=weights / weights.sum())]
    first_word = np.array(COMPANY_FIRST)[pick % len(COMPANY_FIRST)]
    second_word = np.array(COMPANY_SECOND)[(pick // len(COMPANY_FIRST)) % len(COMPANY_SECOND)]
    suffix = np.array(COMPANY_SUFFIX)[pick // (len(COMPANY_FIRST) * len(COMPANY_SECOND))]
    company = np.char.add(np.char.add(first_word, " "), second_word)
    company = np.where(suffix == "", company, np.char.add(np.char.add(company, " "), suffix))
    domain = np.char.add(np.char.lower(np.char.add(first_word, second_word)), ".com")
    first = np.array(FIRST)[rng.integers(0, len(FIRST), leads)]
    last = np.array(LAST)[rng.integers(0, len(LAST), leads)]
    name = np.char.add(np.char.add(first, " "), last)
    style = rng.integers(0, 4, leads)
    lower_first, lower_last = np.char.lower(first), np.char.lower(last)
    local = np.select(
        [style == 0, style == 1, style == 2],
        [np.char.add(np.char.add(lower_first, "."), lower_last),
         np.char.add(np.char.array(lower_first).astype("U1"), lower_last),
         lower_first],
        np.char.add(np.char.add(lower_first, "_"), lower_last))
    free = rng.random(leads) < 0.12  # a tenth sign up with a personal address
    number = rng.integers(1, 100, leads).astype(str)
    local = np.where(free, np.char.add(local, number), local)
    domain = np.where(free, np.array(FREE_MAIL)[rng.integers(0, len(FREE_MAIL), leads)], domain)
    email = np.char.add(np.char.add(local, "@"), domain)
    # A few leads come in without a name or a company, as real exports do.
    name = np.where(rng.random(leads) < 0.03, None, name.astype(object))
    company = np.where(rng.random(leads) < 0.05, None, company.astype(object))
    return pd.DataFrame({"name": name, "company": company, "email": email.astype(object)})


def search_frames(leads: int, touches: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """bench_compliance's leads and touches, with names, companies and emails."""
    lead_frame, touch_frame = generate(leads, touches)
    extra = people_and_companies(leads)
    for column in extra.columns:
        lead_frame[column] = extra[column].to_numpy()
    return lead_frame, touch_frame


def add_reps(url: str) -> None:
    """The 40 rep users the generated leads belong to, in five teams, and a user of each kind
    the benchmark acts as."""
    os.environ["DATABASE_URL"] = url
    from sqlmodel import select

    from core.services import OPERATOR, add_user
    from db.engine import get_session
    from db.models import User

    with get_session() as session:
        known = set(session.execute(select(User.username)).scalars())
        for index in range(40):
            username = f"rep{index:02d}"
            if username not in known:
                add_user(session=session, actor=OPERATOR, username=username,
                         display_name=f"{FIRST[index]} {LAST[index]}",
                         email=f"{username}@example.com", role="sales_rep",
                         password="bench-password", team=TEAMS[index % len(TEAMS)])


def build(url: str, leads: int, touches: int) -> float:
    started = time.perf_counter()
    lead_frame, touch_frame = search_frames(leads, touches)
    build_database(url, lead_frame, touch_frame, versions())
    add_reps(url)
    return time.perf_counter() - started


def sqlite_leads(path: Path) -> tuple[int, int] | None:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            return tuple(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                         for table in ("leads", "touches"))
    except sqlite3.Error:
        return None


def sqlite_database(args) -> str:
    path = SCRATCH / f"{args.leads}-{args.touches}.db"
    if args.rebuild or sqlite_leads(path) != (args.leads, args.touches):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        building = SCRATCH / "building.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        seconds = build(f"sqlite:///{building}", args.leads, args.touches)
        from db.engine import engine_for

        engine_for(f"sqlite:///{building}").dispose()
        with closing(sqlite3.connect(building)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        building.rename(path)
        print(f"  (setup: built {path} in {seconds:.0f} s, "
              f"{path.stat().st_size / 2**20:,.0f} MB)", flush=True)
    else:
        print(f"  (setup: reusing {path})", flush=True)
    return f"sqlite:///{path}"


class Postgres:
    """The benchmark's database on the server: dropped and created empty (or kept, and reused
    while its lead count matches), dropped at the end unless kept."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.name = self.url.database or "bench_search"
        if self.name == "test" or not self.name.startswith("bench"):
            sys.exit(f"error: refusing to use the database {self.name!r}")

    def connect(self):
        import psycopg

        return psycopg.connect(host=self.url.host or "127.0.0.1", port=self.url.port or 5432,
                               user=self.url.username, password=self.url.password,
                               dbname="postgres", autocommit=True, connect_timeout=10)

    def leads(self) -> int | None:
        import psycopg

        try:
            with psycopg.connect(host=self.url.host or "127.0.0.1", port=self.url.port or 5432,
                                 user=self.url.username, password=self.url.password,
                                 dbname=self.name, connect_timeout=10) as connection:
                return connection.execute("SELECT count(*) FROM leads").fetchone()[0]
        except psycopg.Error:
            return None

    def database(self, args) -> str:
        url = self.url.render_as_string(hide_password=False)
        if args.keep_postgres and self.leads() == args.leads:
            print(f"  (setup: reusing the database {self.name})", flush=True)
            return url
        self.drop()
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        seconds = build(url, args.leads, args.touches)
        print(f"  (setup: built the database {self.name} in {seconds:.0f} s)", flush=True)
        return url

    def drop(self) -> None:
        with self.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def prepare(url: str) -> None:
    """The database at the current migrations (a reused one gets the new indexes), its rep
    users, and PostgreSQL's statistics fresh (autovacuum would get there; not when it
    pleases)."""
    os.environ["DATABASE_URL"] = url
    from db import migrate
    from db.engine import get_engine

    started = time.perf_counter()
    before = migrate.current_revision()
    migrate.upgrade()
    after = migrate.current_revision()
    if before != after:
        print(f"  (setup: upgraded from schema {before} to {after} in "
              f"{time.perf_counter() - started:.0f} s)", flush=True)
    add_reps(url)
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def steps(session) -> list[tuple[str, dict, str]]:
    """(label, LeadQuery fields, actor) for each timed step; the searched values are read
    from the data."""
    from sqlalchemy import select

    from db.models import Lead

    count = session.execute(select(Lead.id).order_by(Lead.id.desc()).limit(1)).scalar_one()
    email, external_id = session.execute(select(Lead.email, Lead.external_id).where(
        Lead.id == count * 123 // 1000)).one()
    quarter = {"mql_from": datetime(2025, 4, 1, tzinfo=UTC),
               "mql_to": datetime(2025, 7, 1, tzinfo=UTC)}
    rng = np.random.default_rng(3)
    clocks = tuple((int(i), float(s)) for i, s in zip(
        rng.choice(np.arange(1, count + 1), 3_000, replace=False),
        rng.normal(3_600, 7_200, 3_000), strict=True))
    return [
        ("1. search by company: 'logistics' (a second word)", {"text": "logistics"}, "sofia"),
        (f"2. search by email: '{email.upper()}'", {"text": email.upper()}, "sofia"),
        (f"3. search by external id: '{external_id.lower()}'", {"text": external_id.lower()},
         "sofia"),
        ("4. rep07 + email + 2025-Q2, by company, page 1",
         {"owners": ("rep07",), "channels": ("email",), "sort": "company",
          "descending": False, **quarter}, "sofia"),
        ("5. email + 2025-Q2, by company, page 1",
         {"channels": ("email",), "sort": "company", "descending": False, **quarter}, "sofia"),
        ("6. the same, page 100",
         {"channels": ("email",), "sort": "company", "descending": False, "page": 100,
          **quarter}, "sofia"),
        ("7. unfiltered, first page (newest MQLs)", {}, "sofia"),
        ("   search 'ma' (a short prefix)", {"text": "ma"}, "sofia"),
        ("   search 'a' (one letter)", {"text": "a"}, "sofia"),
        ("   search 'ava harbor' (two words)", {"text": "ava harbor"}, "sofia"),
        ("   team north + won, page 20", {"team": "north", "stage": "won", "page": 20},
         "sofia"),
        ("   sorted by stage, page 100", {"sort": "stage", "page": 100}, "sofia"),
        ("   sorted by channel, page 1", {"sort": "channel", "descending": False}, "sofia"),
        ("   sorted by name, descending, page 200", {"sort": "name", "page": 200}, "sofia"),
        ("   by time left (3,000 clocks), page 1",
         {"sort": "time_left", "descending": False, "time_left": clocks}, "sofia"),
        ("   a rep's own leads, 2025-Q2, page 1", quarter, "rep07"),
    ]


def measure(url: str, runs: int, backend: str) -> list[tuple[str, float, float, str]]:
    from sqlmodel import Session

    from core.services import get_actor
    from core.services.lead_search import LeadQuery, filter_choices, search_leads
    from db.engine import engine_for

    engine = engine_for(url)
    with Session(engine) as session:
        plan = steps(session)
        actors = {name: get_actor(session=session, username=name) for name in ("sofia", "rep07")}
    figures = []

    def timed(label: str, call) -> None:
        seconds, result = [], None
        for run in range(runs + 1):
            with Session(engine) as session:
                started = time.perf_counter()
                result = call(session)
                elapsed = time.perf_counter() - started
            if run:  # the first run warms the caches, and is not counted
                seconds.append(elapsed)
        median, most = statistics.median(seconds) * 1000, max(seconds) * 1000
        if hasattr(result, "rows"):
            what = (f"{len(result.rows)} rows of {result.total:,}{'+' if result.capped else ''}"
                    f" (page {result.page} of {result.pages})")
        else:
            what = ", ".join(f"{len(v)} {k}" for k, v in result.items())
        print(f"  [{backend}] {label:<58} median {median:6.1f} ms  max {most:6.1f} ms  {what}",
              flush=True)
        figures.append((label, median, most, what))

    for label, fields, who in plan:
        query = LeadQuery(**fields)
        timed(label, lambda session, query=query, who=who: search_leads(
            session=session, actor=actors[who], query=query))
    timed("   filter_choices", lambda session: filter_choices(session=session,
                                                             actor=actors["sofia"]))
    engine.dispose()
    return figures


def table(backend: str, args, figures) -> str:
    lines = [f"{backend}, {args.leads:,} leads, {args.touches:,} touches; {args.runs} runs "
             f"each (after a warm-up run); goal {GOAL_MS} ms", "",
             "| step | median | max | result |", "|---|---|---|---|"]
    for label, median, most, what in figures:
        mark = "" if not label[0].isdigit() else " ✓" if most < GOAL_MS else " ✗"
        lines.append(f"| {label.strip()} | {median:.0f} ms | {most:.0f} ms{mark} | {what} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep-postgres", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HANDOFF_BCRYPT_ROUNDS", "4")
    SCRATCH.mkdir(parents=True, exist_ok=True)
    print(f"{args.leads:,} leads of 2025, {args.touches:,} touches; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    tables = []
    if not args.skip_sqlite:
        print("== SQLite", flush=True)
        url = sqlite_database(args)
        prepare(url)
        tables.append(table("SQLite", args, measure(url, args.runs, "SQLite")))
    if not args.skip_postgres:
        print("== PostgreSQL", flush=True)
        postgres = Postgres(args.postgres)
        try:
            url = postgres.database(args)
            prepare(url)
            tables.append(table("PostgreSQL", args, measure(url, args.runs, "PostgreSQL")))
        finally:
            from db.engine import engine_for

            engine_for(postgres.url.render_as_string(hide_password=False)).dispose()
            if not args.keep_postgres:
                postgres.drop()
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}\n")
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
