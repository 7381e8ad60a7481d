# frozen_string_literal: true

class Signup < ApplicationRecord
  PLANS = %w[free team].freeze

  validates :email, format: { with: /\A[^@\s]+@[^@\s]+\z/ }
  validates :plan, inclusion: { in: PLANS }
end
