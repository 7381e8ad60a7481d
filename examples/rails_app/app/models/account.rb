# frozen_string_literal: true

class Account < ApplicationRecord
  STATUSES = %w[new provisioned active].freeze

  validates :email, presence: true, uniqueness: true
  validates :status, inclusion: { in: STATUSES }
end
