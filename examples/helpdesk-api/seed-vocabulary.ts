/** Word lists for the fake helpdesk data: enough variety that search and pagination are realistic. */

export const CLIENT_NAMES = [
  'Acme Facilities', 'Globex Security', 'Initech Services', 'Umbrella Logistics',
  'Stark Maintenance', 'Wayne Property Care', 'Tyrell Cleaning', 'Soylent Estates',
] as const

export const BU_NAMES = ['Head Office', 'North Site', 'South Site'] as const

export const FIRST_NAMES = [
  'Amelia', 'Arjun', 'Beatriz', 'Chen', 'Daniel', 'Divya', 'Elena', 'Farah', 'Gabriel', 'Hana',
  'Ibrahim', 'Isla', 'Jonas', 'Kavya', 'Liam', 'Lucia', 'Mateo', 'Mei', 'Nadia', 'Noah',
  'Olga', 'Omar', 'Priya', 'Rafael', 'Rohan', 'Sara', 'Tariq', 'Uma', 'Victor', 'Yuki',
] as const

export const LAST_NAMES = [
  'Adeyemi', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fernandes', 'Gupta', 'Haddad', 'Ivanova', 'Jensen',
  'Khan', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Patel', 'Quinn', 'Rossi', 'Silva', 'Tanaka',
  'Usman', 'Varga', 'Weber', 'Xu', 'Yilmaz', 'Zhang', 'Mendes', 'Novak', 'Reddy', 'Sato',
] as const

export const TICKET_PROBLEMS = [
  'Printer jam', 'Air conditioning not cooling', 'Badge reader offline', 'Water leak', 'Broken chair',
  'Projector flickering', 'Wi-Fi dropping', 'Door does not lock', 'Lights flickering', 'Blocked drain',
  'Elevator stuck', 'Fire extinguisher expired', 'CCTV camera down', 'Parking barrier jammed',
  'Coffee machine error', 'Window will not close', 'Missing keys', 'Noisy ventilation',
] as const

export const TICKET_PLACES = [
  'in reception', 'on the 2nd floor', 'on the 3rd floor', 'in meeting room B', 'in the server room',
  'in the warehouse', 'in the canteen', 'at gate 4', 'in the east stairwell', 'in the car park',
  'in the training room', 'in the security office',
] as const

export const DESCRIPTION_SENTENCES = [
  'Reported by the morning shift during the first patrol.',
  'This has happened twice this week and is affecting the team.',
  'Please send someone before the client visit on Thursday.',
  'A temporary workaround is in place but it will not last long.',
  'The vendor was contacted and asked for the asset number.',
  'Photos were taken and shared with the site supervisor.',
  'Staff have been asked to avoid the area until it is fixed.',
  'The previous repair did not hold; the same symptom is back.',
  'No safety risk at the moment, but it blocks normal work.',
  'The asset is still under warranty according to the register.',
  'Checked the breaker and the power supply; both look fine.',
  'Escalated by the facility manager after a complaint.',
] as const
